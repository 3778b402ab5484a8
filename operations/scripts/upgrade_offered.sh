# Refreshes the package lists from the sources just written and fails, before the node leaves
# service, unless they offer Debian $1 ($2 the codename): base-files carries the release's version.
apt-get update -q
candidate=$(apt-cache policy base-files | sed -n 's/^ *Candidate: *//p')
case "$candidate" in
    "$1".*) exit 0 ;;
esac
echo "twinstore: the apt sources offer base-files $candidate, not Debian $1 ($2): the node stays in service;" \
    "its sources now name $2: make them offer it, or put them back" >&2
exit 1
