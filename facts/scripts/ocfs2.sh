# Shell built-ins wherever they do: each program started costs 60-100 ms under TCG.
cluster=$1; shift
points=""
echo "${section}cluster"
config=/sys/kernel/config/cluster/$cluster
if [ -d "$config" ]; then
    echo "ONLINE=1"
    for timeout in $timeouts; do
        value=""; read -r value < "$config/$timeout" 2>/dev/null
        echo "TIMEOUT=$timeout $value"
    done
    for node in "$config"/node/*; do
        [ -d "$node" ] || continue
        address=""; port=""
        read -r address < "$node/ipv4_address"; read -r port < "$node/ipv4_port"
        echo "NODE=${node##*/} $address:$port"
    done
fi
while [ "$#" -ge 2 ]; do
    device=$1; minor=$2; shift 2
    echo "${section}device $device"
    frozen=""
    if [ -r /proc/drbd ]; then
        while IFS= read -r line; do
            case ${line#"${line%%[! ]*}"} in
            "$minor: cs:"*" "[ABC]" s"*) printf 'DRBD=%s\n' "$line"; frozen=1 ;;
            "$minor: cs:"*) printf 'DRBD=%s\n' "$line" ;;
            esac
        done < /proc/drbd
    fi
    mounted=""
    while read -r source point _ options _; do
        [ "$source" = "$device" ] || continue
        echo "MOUNTED=$point"
        [ -n "$mounted" ] || mounted=$point
        case ",$options," in *,sync,*) echo "SYNC_MOUNTED=$point" ;; esac
    done < /proc/mounts
    if [ ! -b "$device" ]; then echo "MISSING=1"; continue; fi
    if [ -r "/sys/block/drbd$minor/size" ]; then
        sectors=0; read -r sectors < "/sys/block/drbd$minor/size" && echo "DEVICE_BYTES=$((sectors * 512))"
    fi
    # A read of a device with frozen I/O waits until it resumes: not probed.
    if [ -n "$frozen" ]; then continue; fi
    if [ -n "$mounted" ]; then points="$points$mounted
"; fi
    probe=$(blkid -p -o export "$device" 2>/dev/null); echo "BLKID_RC=$?"
    if cmp -s -n "$head_bytes" "$device" /dev/zero; then echo "HEAD_ZERO=1"; fi
    while IFS= read -r line; do
        case $line in TYPE=*|LABEL=*|UUID=*) printf '%s\n' "$line" ;; esac
    done <<PROBE
$probe
PROBE
done
# The mounted file systems' sizes, one stat for all: OCFS2's statfs counts every cluster of its
# global bitmap. One mount point per line; no globbing of them.
if [ -n "$points" ]; then
    echo "${section}statfs"
    set -f
    IFS='
'
    # shellcheck disable=SC2086
    stat -f -c 'FS_BYTES=%S %b %n' $points 2>/dev/null
fi
true
