# Runs right before new-current-uuid --clear-bitmap: re-checks on the host what the facts promised.
[ "$(drbdadm dstate "$1")" = Inconsistent/Inconsistent ] || {
    echo "twinstore: $1 is not Inconsistent on both nodes; no clear-bitmap" >&2
    exit 1
}
