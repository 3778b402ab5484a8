# Waits up to $timeout seconds for resource $1 to connect to its peer.
for _ in $(seq "$timeout"); do
    [ "$(drbdadm cstate "$1")" = Connected ] && exit 0
    sleep 1
done
echo "twinstore: $1 did not connect to its peer" >&2
exit 1
