# Runs just before a destructive command on device $1: blkid -p exits 2 only when it finds
# nothing; with $zero_head_bytes > 0 the device's first bytes must be zero too (what drbdmeta checks).
blkid -p "$1" >/dev/null 2>&1
rc=$?
if [ "$rc" -ne 2 ]; then
    echo "twinstore: refusing to write to $1: it carries a signature (blkid -p exit $rc)" >&2
    exit 1
fi
if [ "$zero_head_bytes" -gt 0 ] && ! cmp -s -n "$zero_head_bytes" "$1" /dev/zero; then
    echo "twinstore: refusing to write to $1: its first $zero_head_bytes bytes are not zero" >&2
    exit 1
fi
