# Grows DRBD 8.4 resource $1 (minor $2) to its grown backing volumes, from one node of the pair.
# --assume-clean: the new space is not resynced. A resync of it makes one Primary the sync
# target, and a before-resync-target handler that demotes a Primary sync target (the procedure's)
# fails on a mounted device and drops the connection (seen on the lab). Instead the new space is
# written with zeros through DRBD: both nodes then hold the same bytes there (a verify finds
# nothing) before a file system grows into it. Nothing uses that space yet: it lies beyond the
# file system's end.
name=$1
minor=$2
state=""
while IFS= read -r line; do
    case ${line#"${line%%[! ]*}"} in "$minor: cs:"*) state=$line ;; esac
done < /proc/drbd
case $state in
*" cs:Connected ro:"*" ds:UpToDate/UpToDate "*) ;;
*)
    echo "twinstore: $name is not Connected with both disks UpToDate ($state); not resized" >&2
    exit 1
    ;;
esac
read -r before < "/sys/block/drbd$minor/size" || exit 1
drbdadm -- --assume-clean resize "$name" || exit 1
read -r after < "/sys/block/drbd$minor/size" || exit 1
if [ "$after" -gt "$before" ]; then
    dd if=/dev/zero of="/dev/drbd$minor" bs=1M seek="$((before * 512))" count="$(((after - before) * 512))" \
        oflag=seek_bytes,direct iflag=count_bytes conv=notrunc status=none || exit 1
    echo "twinstore: $name grew from $((before / 2048)) MiB to $((after / 2048)) MiB"
fi
