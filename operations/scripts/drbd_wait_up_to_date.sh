# Waits up to $timeout seconds for resource $1 to be UpToDate here before it is promoted.
for _ in $(seq "$timeout"); do
    drbdadm dstate "$1" | grep -q "^UpToDate/" && exit 0
    sleep 1
done
echo "twinstore: $1 is not UpToDate, not promoting" >&2
exit 1
