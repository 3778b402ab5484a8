# Runs right before resource $1 reconnects discarding this node's changes: it must be StandAlone
# (a node still waiting for its peer is disconnected first); anything else is refused.
cs=$(drbdadm cstate "$1")
case "$cs" in
    StandAlone) ;;
    WFConnection) drbdadm disconnect "$1" ;;
    *)
        echo "twinstore: $1 is $cs, not StandAlone; nothing discarded" >&2
        exit 1
        ;;
esac
