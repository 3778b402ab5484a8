frozen=""
if [ -r /proc/drbd ]; then
    while IFS= read -r line; do
        case $line in *" cs:"*" "[ABC]" s"*) frozen=1 ;; esac
    done < /proc/drbd
fi
