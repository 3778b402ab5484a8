# Mounts OCFS2 device $2 on $3 with options $4 unless it is mounted already, under lock file $1:
# the boot unit may be mounting the same volume right now (it waited for the peer); both take the
# same lock, and whichever comes second finds it mounted.
# shellcheck disable=SC2016 # the inner script expands its own arguments
mkdir -p "${1%/*}" && exec flock "$1" sh -c 'findmnt -rn -S "$2" -M "$3" >/dev/null || mount -t ocfs2 -o "$4" "$2" "$3"' sh "$@"
