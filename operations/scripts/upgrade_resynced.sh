# Waits up to $timeout seconds, after the reboot, for the boot unit ($1) to have brought the node
# back into service and for every DRBD resource to be Connected Primary/Primary UpToDate: the
# resync of what the peer wrote meanwhile is over, so the peer may leave service in its turn.
healthy() {
    systemctl -q is-active "$1" || return 1
    [ -r /proc/drbd ] || return 1
    awk '/^ *[0-9]+: cs:/ { n++; if ($2 != "cs:Connected" || $3 != "ro:Primary/Primary" || $4 != "ds:UpToDate/UpToDate") bad++ }
        END { exit (n > 0 && bad == 0) ? 0 : 1 }' /proc/drbd
}
for _ in $(seq "$timeout"); do
    healthy "$1" && exit 0
    sleep 1
done
echo "twinstore: not back in service and resynced within $timeout s:" >&2
cat /proc/drbd >&2
systemctl --no-pager status "$1" >&2
exit 1
