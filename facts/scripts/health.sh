cluster=$1; last_run=$2; shift 2
echo "${section}now"
date +%s
echo "${section}splitbrains"
seen=0
if [ -r "$seen_file" ]; then read -r seen < "$seen_file"; fi
# The kernel log in the journal, kept across reboots: split brains resolved by DRBD itself too.
journalctl -k -q --no-pager -o short-unix --since "@$((seen + 1))" -g 'Split-Brain detected' 2>/dev/null
echo "${section}fencing"
if [ -r "$fence_state" ]; then cat "$fence_state"; fi
echo "${section}verify"
for record in "$verify_state"/*; do
    [ -f "$record" ] || continue
    echo "${record##*/} $(cat "$record")"
done
echo "${section}verify_timer"
if [ -f "$verify_timer" ]; then stat -c %Y "$verify_timer"; fi
echo "${section}heartbeat"
find "/sys/kernel/config/cluster/$cluster/heartbeat" -mindepth 1 -maxdepth 1 -type d 2>/dev/null
echo "${section}last_run"
if [ -n "$last_run" ] && [ -r "$last_run" ]; then cat "$last_run"; fi
echo "${section}volumes"
# The mount table, not a stat of the mount point: that waits on a frozen volume.
for mount_point in "$@"; do
    while read -r source point fs_type rest; do
        [ "$point" = "$mount_point" ] || continue
        case $frozen:$fs_type:$source in
        1:ocfs2:* | 1:*:/dev/drbd*) echo "$mount_point $fs_type frozen" ;;
        *)
            features=""
            # OCFS2's read-only compatible features (quota accounting among them).
            if [ "$fs_type" = ocfs2 ]; then features=$(tunefs.ocfs2 -Q '%O' "$source" 2>/dev/null); fi
            echo "$mount_point $fs_type $(df -P -k "$mount_point" | awk 'NR == 2 { print $2, $4 }') $features"
            ;;
        esac
        break
    done < /proc/mounts
done
true
