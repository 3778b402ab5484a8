"""OCFS2 on the o2cb stack: the cluster's state, and each DRBD device's role, contents and mounts.

One command: configfs shows a registered cluster and its four timeouts; for each
device the configuration puts OCFS2 on, /proc/drbd gives its DRBD state, blkid -p its
signature, cmp whether its first MiB is zero, and /proc/mounts where it is mounted.

Seen on the lab (Debian 12, ocfs2-tools 1.8.7): o2cb is an LSB script run by o2cb.service,
which reads /etc/default/o2cb and registers the cluster from /etc/ocfs2/cluster.conf; the
service stays "active" with the cluster offline, so bringing it online is a restart;
mkfs.ocfs2 -T mail -N 2 on a 1 GiB drbd0 takes 9 s; the kernel lists every configured mount
option, _netdev included; blkid -p on the backing LV still reports TYPE=drbd (the internal
metadata wins), so the DRBD fact keeps seeing metadata under OCFS2.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from pyinfra.api import FactBase, StringCommand
from typing_extensions import override

from facts.drbd import parse_proc_drbd
from facts.lvm import ZERO_HEAD_BYTES
from facts.util import key_values, script_command, section_lines
from twinstore.config import O2CB_TIMEOUTS

# The superblock's quota accounting features (mkfs.ocfs2 --fs-features, tunefs.ocfs2 -Q %O).
QUOTA_FEATURES = ("usrquota", "grpquota")


@dataclass(frozen=True)
class Ocfs2Device:
    """One DRBD device: its DRBD state, what blkid finds on it, and where it is mounted."""

    path: str
    exists: bool = False
    blkid_status: int = 2
    signature: str | None = None
    label: str | None = None
    head_zero: bool = False
    mount_points: tuple[str, ...] = ()
    # Those of its mount points mounted synchronously (the sync option).
    sync_mount_points: tuple[str, ...] = ()
    connection: str | None = None
    role: str | None = None
    peer_role: str | None = None
    disk: str | None = None
    peer_disk: str | None = None
    # I/O is frozen (fencing): the device was not probed, so signature and label are unknown.
    io_suspended: bool = False
    # The DRBD device's size, and the size of the mounted file system on it (None unmounted).
    size: int = 0
    fs_size: int | None = None

    @property
    def blank(self) -> bool:
        """blkid found no signature (exit status 2) and the first MiB is zero: mkfs overwrites nothing."""
        return self.exists and self.blkid_status == 2 and self.signature is None and self.head_zero

    @property
    def has_ocfs2(self) -> bool:
        return self.signature == "ocfs2"

    @property
    def primary_up_to_date(self) -> bool:
        return self.role == "Primary" and self.disk == "UpToDate"

    @property
    def both_primary_up_to_date(self) -> bool:
        return (
            self.connection == "Connected"
            and self.primary_up_to_date
            and self.peer_role == "Primary"
            and self.peer_disk == "UpToDate"
        )

    @property
    def alone_primary(self) -> bool:
        """Primary and UpToDate with no peer connected: a one-legged start.

        The peer shows Outdated once this node's fence-peer handler found it unreachable at
        promotion or powered it off, DUnknown when DRBD never asked."""
        return (
            self.primary_up_to_date
            and self.connection in ("WFConnection", "StandAlone")
            and self.peer_disk in ("DUnknown", "Outdated", None)
        )

    def summary(self) -> str:
        if self.connection is None:
            return "DRBD resource down"
        return f"{self.connection} {self.role}/{self.peer_role} {self.disk}/{self.peer_disk}"


@dataclass(frozen=True)
class Ocfs2State:
    online: bool = False
    # The running cluster's timeouts, named as Ocfs2Cluster names them (O2CB_TIMEOUTS).
    timeouts: dict[str, int] = field(default_factory=dict)
    # node name -> address:port, as registered in configfs
    cluster_members: dict[str, str] = field(default_factory=dict)
    devices: dict[str, Ocfs2Device] = field(default_factory=dict)

    def mounted_at(self, mount_point: str) -> Ocfs2Device | None:
        return next((device for device in self.devices.values() if mount_point in device.mount_points), None)


class Ocfs2(FactBase[Ocfs2State]):
    """
    The o2cb cluster's state and, for each given DRBD device, its state, signature and mounts.

    + cluster: the o2cb cluster name
    + devices: (device path, DRBD minor) for each OCFS2 volume

    .. code:: python

        Ocfs2State(online=True, timeouts={"heartbeat_threshold": 61, "idle_timeout_ms": 60000, ...},
                   cluster_members={"fiori": "192.168.1.6:7777", "torchio": "192.168.1.7:7777"},
                   devices={"/dev/drbd0": Ocfs2Device(path="/dev/drbd0", exists=True, signature="ocfs2",
                                                      mount_points=("/vol/ocfs2-small",), role="Primary", ...)})
    """

    # A read of some devices is answered from a read of more (twinstore/fact_cache.py).
    items_argument = "devices"

    @override
    @staticmethod
    def default() -> Ocfs2State:
        return Ocfs2State()

    @staticmethod
    def narrow(answer: Ocfs2State, devices: list[tuple[str, int]]) -> Ocfs2State:
        paths = {path for path, _ in devices}
        return replace(answer, devices={path: state for path, state in answer.devices.items() if path in paths})

    @override
    def command(self, cluster: str, devices: list[tuple[str, int]]) -> StringCommand:
        arguments = [cluster, *(part for device in devices for part in device)]
        return script_command(
            ("ocfs2",), arguments, head_bytes=ZERO_HEAD_BYTES, timeouts=" ".join(O2CB_TIMEOUTS.values())
        )

    @override
    def process(self, output: list[str]) -> Ocfs2State:
        sections = {name: key_values(lines) for name, lines in section_lines(output).items()}
        cluster_pairs = sections.get("cluster", [])
        cluster = dict(cluster_pairs)
        members = dict(value.split(" ", 1) for key, value in cluster_pairs if key == "NODE" and " " in value)
        statfs = {}
        for key, value in sections.get("statfs", []):
            block, blocks, mount_point = value.split(" ", 2)
            if key == "FS_BYTES" and block.isdigit() and blocks.isdigit():
                statfs[mount_point] = int(block) * int(blocks)
        devices = {}
        for header, pairs in sections.items():
            if not header.startswith("device "):
                continue
            path = header.split(" ", 1)[1]
            values = dict(pairs)
            drbd = next(iter(parse_proc_drbd([values["DRBD"]]).values()), {}) if "DRBD" in values else {}
            mount_points = tuple(value for key, value in pairs if key == "MOUNTED")
            devices[path] = Ocfs2Device(
                path=path,
                exists="MISSING" not in values,
                blkid_status=int(values.get("BLKID_RC", "2")),
                signature=values.get("TYPE"),
                label=values.get("LABEL"),
                head_zero="HEAD_ZERO" in values,
                mount_points=mount_points,
                sync_mount_points=tuple(value for key, value in pairs if key == "SYNC_MOUNTED"),
                connection=_text(drbd.get("cs")),
                role=_text(drbd.get("role")),
                peer_role=_text(drbd.get("peer_role")),
                disk=_text(drbd.get("disk")),
                peer_disk=_text(drbd.get("peer_disk")),
                io_suspended=drbd.get("io") == "s",
                size=int(values.get("DEVICE_BYTES", "0")),
                fs_size=next((statfs[point] for point in mount_points if point in statfs), None),
            )
        names = {path: name for name, path in O2CB_TIMEOUTS.items()}
        timeouts = {}
        for key, value in cluster_pairs:
            path, _, number = value.partition(" ")
            if key == "TIMEOUT" and path in names and number.isdigit():
                timeouts[names[path]] = int(number)
        return Ocfs2State(
            online="ONLINE" in cluster,
            timeouts=timeouts,
            cluster_members=members,
            devices=devices,
        )


def _text(value: object) -> str | None:
    return None if value is None or value == "Unconfigured" else str(value)
