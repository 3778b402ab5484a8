"""unison: the version, the sync key, the host key, the pinned peer and whether a first sync ran."""

from __future__ import annotations

import re
from dataclasses import dataclass

from pyinfra.api import FactBase, StringCommand
from typing_extensions import override

from facts.util import script_command, section_lines

# What Debian's unison prints first: "unison version 2.52.1 (ocaml 4.13.1)" (12), "2.53.7 (ocaml 5.2.0)" (13).
UNISON_VERSION = re.compile(r"^unison version (\d+(?:\.\d+)*)(?:\s|$)")


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

    @property
    def release(self) -> tuple[int, ...] | None:
        """The version's numbers, (2, 53, 7) for "unison version 2.53.7 (ocaml 5.2.0)"; None when unknown."""
        match = UNISON_VERSION.match(self.version or "")
        return tuple(int(part) for part in match.group(1).split(".")) if match else None


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
        return script_command(("unison",), [key, known_hosts, archive_dir, root])

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
