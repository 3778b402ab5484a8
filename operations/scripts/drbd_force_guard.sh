# Runs right before a forced primary of resource $1 (a one-legged start): only a new resource,
# never one holding part of a sync.
case "$(drbdadm dstate "$1")" in
    Inconsistent/DUnknown | Inconsistent/Inconsistent) ;;
    *)
        echo "twinstore: $1 is not a new one-legged resource; no forced primary" >&2
        exit 1
        ;;
esac
# A sync that began replaced the just-created UUID: that is a partial copy, never forced.
case "$(drbdadm get-gi "$1")" in
    000000000000000[45]:*) ;;
    *)
        echo "twinstore: $1 holds part of a sync, not a new resource; no forced primary" >&2
        exit 1
        ;;
esac
