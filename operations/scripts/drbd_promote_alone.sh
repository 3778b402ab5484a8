# Promotes resource $1 alone, its peer gone for good (--data promote_alone); $2 is the flag file
# the fence-peer handler reads.
cs=$(drbdadm cstate "$1")
case "$cs" in
    StandAlone | WFConnection | Unconnected | Timeout | BrokenPipe | NetworkFailure | ProtocolError | TearDown | Disconnecting) ;;
    *)
        echo "twinstore: $1 is $cs, not alone; nothing forced" >&2
        exit 1
        ;;
esac
case "$(drbdadm dstate "$1")" in
    # The fence-peer handler reads the flag and answers "peer outdated": a plain promotion then
    # starts one new data generation whose parent the peer still has, so a peer that changed
    # nothing resyncs from this node. (primary --force starts two, and the peer's copy would
    # look unrelated: a split brain.)
    Consistent/* | UpToDate/*)
        mkdir -p "${2%/*}" && echo "$1" > "$2" && drbdadm primary "$1"
        rc=$?
        rm -f "$2"
        exit "$rc"
        ;;
    # The peer certainly had newer data: only a forced promotion takes this copy.
    Outdated/*) exec drbdadm primary --force "$1" ;;
    *)
        echo "twinstore: $1 is not a whole copy; nothing forced" >&2
        exit 1
        ;;
esac
