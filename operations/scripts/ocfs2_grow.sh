# Grows the OCFS2 file system on $1 to fill its device, online: tunefs.ocfs2 -S works through
# the mounted file system (the cluster's locks tell the other node), so it must be mounted here.
device=$1
mounted=""
while read -r source point _; do
    [ "$source" = "$device" ] && mounted=$point
done < /proc/mounts
if [ -z "$mounted" ]; then
    echo "twinstore: $device is not mounted on this node; OCFS2 grows online only (mount it and run again)" >&2
    exit 1
fi
tunefs.ocfs2 -S "$device"
