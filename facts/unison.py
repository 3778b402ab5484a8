"""unison: the version, the sync key, the host key, the pinned peer and whether a first sync ran."""

from __future__ import annotations

from dataclasses import dataclass

from pyinfra.api import FactBase, QuoteString, StringCommand
from typing_extensions import override

from facts.lvm import SECTION, section_lines

SCRIPT = r"""
# Shell built-ins wherever they do: each program started costs 60-100 ms under TCG.
key=$1; known_hosts=$2; archive_dir=$3; root=$4
show() {{ while IFS= read -r line || [ -n "$line" ]; do printf '%s\n' "$line"; done < "$1"; }}
echo "{section}version"
unison -version 2>/dev/null
echo "{section}key"
if [ -r "$key.pub" ]; then show "$key.pub"; fi
echo "{section}hostkey"
if [ -r /etc/ssh/ssh_host_ed25519_key.pub ]; then
    read -r kind base64 rest < /etc/ssh/ssh_host_ed25519_key.pub; echo "$kind $base64"
fi
echo "{section}known_hosts"
if [ -r "$known_hosts" ]; then show "$known_hosts"; fi
echo "{section}authorized"
if [ -r /root/.ssh/authorized_keys ]; then
    show /root/.ssh/authorized_keys | while IFS= read -r line; do
        case $line in *twinstore-unison*) printf '%s\n' "$line" ;; esac
    done
fi
echo "{section}archives"
for archive in "$archive_dir"/ar*; do
    name=${{archive##*/}}
    case $name in ar*[!0-9a-f]*) ;; ar?*) [ -e "$archive" ] && echo "$name" ;; esac
done
echo "{section}mounted"
while read -r source point rest; do
    [ "$point" = "$root" ] && echo yes && break
done < /proc/mounts
true
"""


@dataclass(frozen=True)
class UnisonState:
    # First line of `unison -version`, e.g. "unison version 2.53.0"; None when not installed.
    version: str | None = None
    # The sync key's public half, "ssh-ed25519 AAAA... comment"; None when there is no key.
    public_key: str | None = None
    # This host's own ed25519 host key, "ssh-ed25519 AAAA...".
    host_key: str | None = None
    known_hosts: tuple[str, ...] = ()
    # Lines of root's authorized_keys that carry the twinstore-unison marker.
    authorized: tuple[str, ...] = ()
    # unison's archive files: present once a sync has run.
    archives: tuple[str, ...] = ()
    # Whether the synced volume is mounted here.
    mounted: bool = False


class Unison(FactBase[UnisonState]):
    """
    What unison needs on a storage node, read in one command.

    + key: path of the sync key's private half
    + known_hosts: the known_hosts file the sync's ssh uses
    + archive_dir: unison's directory (~/.unison)
    + root: the synced volume's mount point

    .. code:: python

        UnisonState(version="unison version 2.53.0", public_key="ssh-ed25519 AAAA... twinstore-unison@fiori",
                    host_key="ssh-ed25519 AAAA...", known_hosts=("192.168.1.7 ssh-ed25519 AAAA...",),
                    authorized=(), archives=("ar3b1f...",), mounted=True)
    """

    default = UnisonState

    @override
    def command(self, key: str, known_hosts: str, archive_dir: str, root: str) -> StringCommand:
        return StringCommand(
            "sh",
            "-c",
            QuoteString(SCRIPT.format(section=SECTION)),
            "sh",
            QuoteString(key),
            QuoteString(known_hosts),
            QuoteString(archive_dir),
            QuoteString(root),
        )

    @override
    def process(self, output: list[str]) -> UnisonState:
        sections = {
            name: [line.strip() for line in lines if line.strip()] for name, lines in section_lines(output).items()
        }
        return UnisonState(
            version=next(iter(sections.get("version", [])), None),
            public_key=next(iter(sections.get("key", [])), None),
            host_key=next(iter(sections.get("hostkey", [])), None),
            known_hosts=tuple(sections.get("known_hosts", [])),
            authorized=tuple(sections.get("authorized", [])),
            archives=tuple(sections.get("archives", [])),
            mounted=sections.get("mounted") == ["yes"],
        )
