# Refuses to take the node out of service for $purpose (the move, the upgrade) while a process holds
# one of the mounted volumes $@: unmounting it would fail half-way through.
busy=0
for mount_point in "$@"; do
    mountpoint -q "$mount_point" || continue
    if fuser -s -m "$mount_point"; then
        echo "twinstore: $(hostname): $mount_point is in use, so it cannot be unmounted for $purpose:" >&2
        fuser -v -m "$mount_point" 2>&1 | sed 's/^/    /' >&2
        busy=1
    fi
done
if [ "$busy" -ne 0 ]; then
    echo "twinstore: stop those processes (or move them away from the volume) and run the deploy again;" \
        "nothing was changed" >&2
fi
exit "$busy"
