"""What the health report needs beyond the subsystems' own facts: space, heartbeat, last sync."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pyinfra.api import FactBase, StringCommand
from typing_extensions import override

from facts.ocfs2 import QUOTA_FEATURES
from facts.util import script_command, section_lines

# The newest split brain a health report has already reported (seconds since the epoch).
SPLIT_BRAINS_SEEN = "/var/lib/twinstore/split-brains-seen"
# The fence-peer handler's last fencing: time, fenced|fencing|failed|reconnected, peer, resource
# (templates/fencing/fence-peer.sh.j2 writes it).
FENCE_STATE = "/var/lib/twinstore/fence-peer.last"
# The scheduled verify's outcome per resource (templates/verify/twinstore-verify.sh.j2 writes
# them), and its timer, whose file's time is when the schedule was set.
VERIFY_STATE = "/var/lib/twinstore/verify"
VERIFY_TIMER_FILE = "/etc/systemd/system/twinstore-verify.timer"


@dataclass(frozen=True)
class VolumeUsage:
    fs_type: str
    size_kib: int
    free_kib: int
    # Mounted, but I/O on its DRBD device (or on one OCFS2 needs) is frozen: not asked for its size.
    frozen: bool = False
    # OCFS2's read-only compatible features (tunefs.ocfs2 -Q %O); empty for other file systems.
    features: tuple[str, ...] = ()

    @property
    def quota_accounting(self) -> bool:
        return any(feature in self.features for feature in QUOTA_FEATURES)


@dataclass(frozen=True)
class SplitBrain:
    """One split brain the kernel logged: when, on which resource, and how it ended."""

    when: int
    resource: str
    # "automatically" (an after-sb policy), "manually" (--discard-my-data) or "unresolved".
    outcome: str
    message: str


# Debian 12's kernel prefixes DRBD's messages with "block drbd1:" (or "drbd drbd1:"), Debian
# 13's with "drbd drbd1/0 drbd1:" (resource/volume, then the device).
SPLIT_BRAIN_LINE = re.compile(
    r"^(?P<when>[0-9]+)(?:\.[0-9]+)? \S+ kernel: (?:block|drbd) (?P<resource>[^\s/:]+)(?:/[0-9]+ \S+?)?:? "
    r"(?P<message>Split-Brain detected.*)$"
)


def split_brain_outcome(message: str) -> str:
    for outcome in ("automatically", "manually"):
        if f"{outcome} solved" in message:
            return outcome
    return "unresolved"


@dataclass(frozen=True)
class Fencing:
    """The fence-peer handler's last fencing of the peer."""

    when: str
    # fenced: the agent confirmed the peer off; fencing: under way (or the handler died);
    # failed: the agent could not, and I/O stays frozen; reconnected: the peer was back before
    # the power-off, which was not needed.
    outcome: str
    peer: str
    resource: str


@dataclass(frozen=True)
class VerifyRecord:
    """A resource's last scheduled verify: when it started and ended, how, and what DRBD then
    counted out of sync (KiB; None when it did not say)."""

    start: int
    end: int
    # done; interrupted (the connection changed meanwhile); skipped (the pair was not Connected
    # with both disks UpToDate).
    result: str
    out_of_sync_kib: int | None


@dataclass(frozen=True)
class StorageHealthState:
    # The node's clock (seconds since the epoch), to age the last sync by.
    now: int = 0
    # o2cb heartbeat regions: one per mounted OCFS2 volume while the cluster beats.
    heartbeat_regions: int = 0
    # The sync command's last run: (seconds since the epoch, exit status); None if it never ran here.
    last_sync: tuple[int, int] | None = None
    # Mounted volumes among those asked for.
    volumes: dict[str, VolumeUsage] = field(default_factory=dict)
    # Split brains the kernel logged since the last one a health report reported.
    split_brains: tuple[SplitBrain, ...] = ()
    last_fencing: Fencing | None = None
    # The scheduled verify's records on this node: RESOURCE (its last verify) and RESOURCE.done
    # (its last verify that ran to its end).
    verifies: dict[str, VerifyRecord] = field(default_factory=dict)
    # When the verify timer was last written (seconds since the epoch); None: no timer here.
    verify_scheduled: int | None = None


class StorageHealth(FactBase[StorageHealthState]):
    """
    Free space of the mounted volumes, o2cb heartbeat regions, the last unison sync and the last
    fencing, in one command.

    + cluster: the o2cb cluster name
    + last_run_file: the sync command's record of its last run ("" on a node that does not sync)
    + mount_points: the volumes to report

    .. code:: python

        StorageHealthState(now=1764150000, heartbeat_regions=2, last_sync=(1764140000, 0),
                           volumes={"/vol/rep-no": VolumeUsage("ext4", 999320, 930000)})
    """

    @override
    @staticmethod
    def default() -> StorageHealthState:
        return StorageHealthState()

    @override
    def command(self, cluster: str, last_run_file: str, mount_points: list[str]) -> StringCommand:
        return script_command(
            ("frozen", "health"),
            [cluster, last_run_file, *mount_points],
            seen_file=SPLIT_BRAINS_SEEN,
            fence_state=FENCE_STATE,
            verify_state=VERIFY_STATE,
            verify_timer=VERIFY_TIMER_FILE,
        )

    @override
    def process(self, output: list[str]) -> StorageHealthState:
        sections = {
            name: [line.strip() for line in lines if line.strip()] for name, lines in section_lines(output).items()
        }
        volumes = {}
        for line in sections.get("volumes", []):
            parts = line.split()
            if len(parts) >= 4 and parts[2].isdigit() and parts[3].isdigit():
                volumes[parts[0]] = VolumeUsage(parts[1], int(parts[2]), int(parts[3]), features=tuple(parts[4:]))
            elif len(parts) == 3 and parts[2] == "frozen":
                volumes[parts[0]] = VolumeUsage(parts[1], 0, 0, frozen=True)
        last_sync = None
        last = (sections.get("last_run") or [""])[0].split()
        if len(last) >= 2 and last[0].isdigit() and last[1].isdigit():
            last_sync = (int(last[0]), int(last[1]))
        now = (sections.get("now") or ["0"])[0]
        split_brains = tuple(
            SplitBrain(int(match["when"]), match["resource"], split_brain_outcome(match["message"]), match["message"])
            for match in map(SPLIT_BRAIN_LINE.match, sections.get("splitbrains", []))
            if match
        )
        fencing = (sections.get("fencing") or [""])[0].split()
        verifies = {}
        for line in sections.get("verify", []):
            parts = line.split()
            if len(parts) == 5 and parts[1].isdigit() and parts[2].isdigit():
                oos = int(parts[4]) if parts[4].isdigit() else None
                verifies[parts[0]] = VerifyRecord(int(parts[1]), int(parts[2]), parts[3], oos)
        scheduled = (sections.get("verify_timer") or [""])[0]
        return StorageHealthState(
            last_fencing=Fencing(*fencing) if len(fencing) == 4 else None,
            now=int(now) if now.isdigit() else 0,
            heartbeat_regions=len(sections.get("heartbeat", [])),
            last_sync=last_sync,
            volumes=volumes,
            split_brains=split_brains,
            verifies=verifies,
            verify_scheduled=int(scheduled) if scheduled.isdigit() else None,
        )
