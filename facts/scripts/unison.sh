# Shell built-ins wherever they do: each program started costs 60-100 ms under TCG.
key=$1; known_hosts=$2; archive_dir=$3; root=$4
show() { while IFS= read -r line || [ -n "$line" ]; do printf '%s\n' "$line"; done < "$1"; }
echo "${section}version"
unison -version 2>/dev/null
echo "${section}key"
if [ -r "$key.pub" ]; then show "$key.pub"; fi
echo "${section}hostkey"
if [ -r /etc/ssh/ssh_host_ed25519_key.pub ]; then
    read -r kind base64 rest < /etc/ssh/ssh_host_ed25519_key.pub; echo "$kind $base64"
fi
echo "${section}known_hosts"
if [ -r "$known_hosts" ]; then show "$known_hosts"; fi
echo "${section}authorized"
if [ -r /root/.ssh/authorized_keys ]; then
    show /root/.ssh/authorized_keys | while IFS= read -r line; do
        case $line in *twinstore-unison*) printf '%s\n' "$line" ;; esac
    done
fi
echo "${section}archives"
for archive in "$archive_dir"/ar*; do
    name=${archive##*/}
    case $name in ar*[!0-9a-f]*) ;; ar?*) [ -e "$archive" ] && echo "$name" ;; esac
done
echo "${section}mounted"
while read -r _ point _; do
    [ "$point" = "$root" ] && echo yes && break
done < /proc/mounts
true
