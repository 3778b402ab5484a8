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
# DRBD grows the device once the peer has agreed to the new size, which may come after drbdadm
# returns: zeros written before then would stop at the old end, and the old metadata's place
# (each node's own activity log and superblock) would stay different on the two nodes (the
# suite's verify of the new space found exactly those 36 KiB once). So wait for the new size.
waited=0
while :; do
    read -r after < "/sys/block/drbd$minor/size" || exit 1
    [ "$after" -gt "$before" ] && break
    if [ "$waited" -ge "$timeout" ]; then
        echo "twinstore: $name did not grow within $timeout s of drbdadm resize (its peer has not agreed to the new size): nothing was zeroed; if it grows later, a verify of its new space may find differences (README, Growing a volume)" >&2
        exit 1
    fi
    sleep 1
    waited=$((waited + 1))
done
dd if=/dev/zero of="/dev/drbd$minor" bs=1M seek="$((before * 512))" count="$(((after - before) * 512))" \
    oflag=seek_bytes,direct iflag=count_bytes conv=notrunc status=none || exit 1
echo "twinstore: $name grew from $((before / 2048)) MiB to $((after / 2048)) MiB"
