# Mounts OCFS2 device $2 on $3 with options $4 unless it is mounted already, under lock file $1:
# the boot unit may be mounting the same volume right now (it waited for the peer); both take the
# same lock, and whichever comes second finds it mounted. A mount that fails is tried $tries
# times in all, $retry_s seconds apart (operations/util.py OCFS2_MOUNT_TRIES says why).
# shellcheck disable=SC2016 # the inner script expands its own arguments
mkdir -p "${1%/*}" && exec flock "$1" sh -c '
    try=1
    until findmnt -rn -S "$2" -M "$3" >/dev/null || mount -t ocfs2 -o "$4" "$2" "$3"; do
        [ "$try" -lt "$5" ] || exit 1
        echo "twinstore: cannot mount $3 (try $try of $5); trying again in $6 s" >&2
        try=$((try + 1))
        sleep "$6"
    done' sh "$@" "$tries" "$retry_s"
