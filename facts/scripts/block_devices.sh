# One section per device: its size, what blkid -p (the low-level probe, not the cache) finds,
# and, when it finds nothing, whether its first $head_bytes bytes are zero.
for d in "$@"; do
    echo "${section}$d"
    if [ -b "$d" ]; then
        echo "SIZE=$(blockdev --getsize64 "$d")"
        # blkid -p exits 2 when it finds nothing; that is an answer, not an error.
        probe=$(blkid -p -o export "$d" 2>/dev/null)
        rc=$?
        printf '%s\n' "$probe"
        echo "BLKID_RC=$rc"
        case $probe in *TYPE=ext[234]*)
            # The file system's own size (its superblock), to grow it with its volume.
            count=""; block=""
            while IFS=: read -r key value; do
                case $key in "Block count") count=${value##* } ;; "Block size") block=${value##* } ;; esac
            done <<SUPER
$(dumpe2fs -h "$d" 2>/dev/null)
SUPER
            if [ -n "$count" ] && [ -n "$block" ]; then echo "FS_BYTES=$((count * block))"; fi
            ;;
        esac
        if [ "$rc" -eq 2 ] && cmp -s -n "$head_bytes" "$d" /dev/zero; then echo "HEAD_ZERO=1"; fi
    else
        echo "MISSING=1"
    fi
done
true
