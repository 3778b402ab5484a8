"""Whether twinstore-storage.service is waiting for the peer, read from the file its script keeps."""

from __future__ import annotations

from dataclasses import dataclass, field

from pyinfra.api import FactBase
from typing_extensions import override

# Written by the boot script (templates/boot/twinstore-storage.sh.j2) while a resource waits.
WAITING_FILE = "/run/twinstore/waiting"
# Held around OCFS2 mounts by the boot script and the deploy, so the two never mount at once.
MOUNT_LOCK = "/run/twinstore/mount.lock"


@dataclass(frozen=True)
class WaitingResource:
    connection: str
    disks: str


@dataclass(frozen=True)
class BootWaitState:
    # Seconds since the epoch the boot script began to wait; None when it does not wait.
    since: int | None = None
    resources: dict[str, WaitingResource] = field(default_factory=dict)

    @property
    def waiting(self) -> bool:
        return self.since is not None


class BootWait(FactBase[BootWaitState]):
    """
    The resources the boot unit keeps Secondary until the peer connects, and since when.

    .. code:: python

        BootWaitState(since=1764520000, resources={"drbd0": WaitingResource("WFConnection", "Consistent/DUnknown")})
    """

    @override
    @staticmethod
    def default() -> BootWaitState:
        return BootWaitState()

    @override
    def command(self) -> str:
        # A shell built-in read: no program started when the node does not wait.
        return f'if [ -r {WAITING_FILE} ]; then while IFS= read -r line; do echo "$line"; done < {WAITING_FILE}; fi'

    @override
    def process(self, output: list[str]) -> BootWaitState:
        since = None
        resources = {}
        for line in output:
            parts = line.split()
            if len(parts) == 2 and parts[0] == "since" and parts[1].isdigit():
                since = int(parts[1])
            elif len(parts) == 3:
                resources[parts[0]] = WaitingResource(parts[1], parts[2])
        return BootWaitState(since=since, resources=resources) if since is not None else BootWaitState()


class PreviousBoot(FactBase[int | None]):
    """
    When this node's previous boot ended (its journal's last entry then), in seconds since the epoch.

    For a node that went down with its data: up to when that data is known to be in step with its peer.
    None when the journal does not keep earlier boots.
    """

    @override
    def command(self) -> str:
        return "journalctl -b -1 -n 1 -q --no-pager -o short-unix 2>/dev/null || true"

    @override
    def process(self, output: list[str]) -> int | None:
        for line in output:
            stamp = line.split(" ", 1)[0]
            if stamp.replace(".", "", 1).isdigit():
                return int(float(stamp))
        return None
