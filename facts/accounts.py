"""Local accounts: every user's uid and primary gid, every group's gid, read in one command."""

from __future__ import annotations

from dataclasses import dataclass, field

from pyinfra.api import FactBase
from typing_extensions import override

from facts.lvm import SECTION, section_lines


@dataclass(frozen=True)
class LocalAccountsState:
    # name -> (uid, primary gid)
    users: dict[str, tuple[int, int]] = field(default_factory=dict)
    # name -> gid
    groups: dict[str, int] = field(default_factory=dict)

    def user_with_uid(self, uid: int) -> str | None:
        return next((name for name, (found, _) in self.users.items() if found == uid), None)

    def group_with_gid(self, gid: int) -> str | None:
        return next((name for name, found in self.groups.items() if found == gid), None)


class LocalAccounts(FactBase[LocalAccountsState]):
    """
    Returns the users and groups of /etc/passwd and /etc/group with their ids.

    .. code:: python

        LocalAccountsState(users={"root": (0, 0), "libvirt-qemu": (64055, 64055)},
                           groups={"root": 0, "libvirt-qemu": 64055})
    """

    # pyinfra's Users fact runs several programs per user (lastlog, groups): too slow to read
    # on every run under TCG for the few ids compared here.
    @override
    def command(self) -> str:
        return f'echo "{SECTION}passwd"; cat /etc/passwd; echo "{SECTION}group"; cat /etc/group'

    @override
    def process(self, output: list[str]) -> LocalAccountsState:
        sections = section_lines(output)
        users: dict[str, tuple[int, int]] = {}
        for line in sections.get("passwd", []):
            parts = line.split(":")
            if len(parts) >= 4 and parts[2].isdigit() and parts[3].isdigit():
                users[parts[0]] = (int(parts[2]), int(parts[3]))
        groups: dict[str, int] = {}
        for line in sections.get("group", []):
            parts = line.split(":")
            if len(parts) >= 3 and parts[2].isdigit():
                groups[parts[0]] = int(parts[2])
        return LocalAccountsState(users=users, groups=groups)
