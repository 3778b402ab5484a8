# Writes value $2 to file $1.
echo "$2" > "$1"
