"""DRBD 8.4: the state of every configured resource, read in one command.

Reads /proc/drbd (connection, roles, disk states, out-of-sync), the kernel log for
split-brain reports, and for each resource's backing device the blkid probe and, when the
resource is not up, its metadata's generation identifiers (drbdmeta get-gi).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pyinfra.api import FactBase, StringCommand
from typing_extensions import override

from facts.util import script_command, section_lines

# drbdmeta create-md asks for confirmation when any of the first 68 KiB of the backing device
# is not zero, signature or not; blkid alone cannot prove the device holds nothing.
DRBDMETA_CHECKED_BYTES = 68 * 1024
# drbd's UUID_JUST_CREATED: metadata written by create-md and never used since. The lowest
# bit of a UUID only marks a Primary (UUID_PRIMARY), so it is ignored when comparing.
JUST_CREATED_UUID = 4
# get-gi's flags after the four UUIDs (drbd-utils dt_print_uuids), in this order.
GI_FLAGS = (
    "consistent",
    "was_up_to_date",
    "primary_ind",
    "connected_ind",
    "full_sync",
    "peer_outdated",
    "crashed_primary",
)
PROC_LINE = re.compile(
    r"^\s*(?P<minor>\d+): cs:(?P<cs>\S+)"
    r"(?: ro:(?P<role>[^/\s]+)/(?P<peer_role>\S+) ds:(?P<disk>[^/\s]+)/(?P<peer_disk>\S+))?"
    # The protocol, then I/O running (r) or suspended (s: frozen, as fencing freezes it).
    r"(?: [ABC] (?P<io>[rs]))?"
)
# Sets frozen=1 when I/O on any DRBD resource is suspended. While it is, a read of a DRBD device
# and a stat of an OCFS2 volume wait (in the kernel, beyond any timeout) until I/O resumes:
# the facts that would touch one skip it and say so. Shell built-ins only.
SYNC_LINE = re.compile(r"sync'ed:\s*([0-9.]+)%")
OOS = re.compile(r"\boos:(\d+)")


# DRBD 8.4's internal metadata (drbdmeta v08, one activity-log stripe): a bitmap of one bit per
# 4 KiB of the backing device, in whole 4 KiB pages, after a 4 KiB superblock and a 32 KiB
# activity log. Seen on the lab: 68 KiB on 1 GiB, 104 KiB on 2112 MiB.
METADATA_FIXED_BYTES = 36 * 1024


def internal_metadata_bytes(backing_bytes: int) -> int:
    """The size of DRBD 8.4's internal metadata at the end of a backing device of this size."""
    bitmap = -(-backing_bytes // (4096 * 8))
    return -(-bitmap // 4096) * 4096 + METADATA_FIXED_BYTES


def usable_bytes(backing_bytes: int) -> int:
    """The size of a DRBD device with internal metadata on a backing device of this size."""
    return backing_bytes - internal_metadata_bytes(backing_bytes)


@dataclass(frozen=True)
class DrbdResourceState:
    """One resource as this node sees it. Disk and connection states use DRBD 8.4's names."""

    name: str
    minor: int
    module_loaded: bool
    # The kernel knows the minor (anything but Unconfigured in /proc/drbd).
    configured: bool = False
    config_file: bool = False
    connection: str | None = None
    role: str | None = None
    peer_role: str | None = None
    disk: str | None = None
    peer_disk: str | None = None
    out_of_sync_kib: int = 0
    sync_percent: float | None = None
    backing_device: str = ""
    backing_exists: bool = False
    # blkid on the backing device: "drbd" for internal metadata, a filesystem type, or None.
    backing_signature: str | None = None
    backing_blkid_status: int = 2
    # The bytes drbdmeta inspects before create-md are all zero.
    backing_head_zero: bool = False
    # drbdmeta get-gi, read only while the resource is down.
    generation: str | None = None
    split_brain_reported: bool = False
    # Where the device is mounted, if it is: its contents cannot be replaced under a mount.
    mount_point: str | None = None
    # I/O on the device is frozen (fencing waits for the peer to be known off, or resume-io).
    io_suspended: bool = False
    # The DRBD device's size in bytes (0 while it is down).
    size: int = 0

    @property
    def attached(self) -> bool:
        return self.configured and self.disk not in (None, "Diskless")

    @property
    def has_metadata(self) -> bool:
        return self.attached or self.backing_signature == "drbd"

    @property
    def backing_blank(self) -> bool:
        return (
            self.backing_exists
            and self.backing_blkid_status == 2
            and self.backing_signature is None
            and self.backing_head_zero
        )

    @property
    def current_uuid(self) -> int | None:
        if self.generation is None:
            return None
        try:
            return int(self.generation.split(":")[0], 16)
        except ValueError:
            return None

    @property
    def generation_flags(self) -> dict[str, bool]:
        """The metadata flags get-gi prints (consistent, was_up_to_date, peer_outdated, ...)."""
        if self.generation is None:
            return {}
        values = self.generation.split(":")[4:]
        return {name: value == "1" for name, value in zip(GI_FLAGS, values, strict=False)}

    @property
    def never_used(self) -> bool:
        """Metadata exists but was only just created: no data was ever written through it."""
        uuid = self.current_uuid
        return uuid is not None and uuid & ~1 == JUST_CREATED_UUID

    @property
    def partial_copy(self) -> bool:
        """Inconsistent after a sync began: it holds part of the peer's data, never a whole copy."""
        return self.disk == "Inconsistent" and self.current_uuid is not None and not self.never_used

    @property
    def disk_at_attach(self) -> str | None:
        """The disk state a down resource attaches with (drbdmeta dstate; fencing is never dont-care here)."""
        flags = self.generation_flags
        if not flags:
            return None
        if not flags["consistent"]:
            return "Inconsistent"
        if not flags["was_up_to_date"]:
            return "Outdated"
        return "UpToDate" if flags["peer_outdated"] else "Consistent"

    @property
    def healthy(self) -> bool:
        return (
            self.connection == "Connected"
            and self.role == "Primary"
            and self.peer_role == "Primary"
            and self.disk == "UpToDate"
            and self.peer_disk == "UpToDate"
        )

    def summary(self) -> str:
        if not self.module_loaded:
            return "DRBD module not loaded"
        if not self.configured:
            md = "metadata present" if self.has_metadata else "no metadata"
            return f"down ({md})"
        progress = f", {self.sync_percent}% synced" if self.sync_percent is not None else ""
        return (
            f"{self.connection} {self.role}/{self.peer_role} {self.disk}/{self.peer_disk}"
            f", out of sync {self.out_of_sync_kib} KiB{progress}"
        )


def parse_proc_drbd(lines: list[str]) -> dict[int, dict[str, object]]:
    """Per minor: cs, ro, ds, oos and sync progress from /proc/drbd (8.4 format)."""
    minors: dict[int, dict[str, object]] = {}
    current: dict[str, object] | None = None
    for line in lines:
        match = PROC_LINE.match(line)
        if match:
            current = {key: value for key, value in match.groupdict().items() if value is not None}
            minors[int(match["minor"])] = current
            continue
        if current is None:
            continue
        if oos := OOS.search(line):
            current["oos"] = int(oos.group(1))
        if synced := SYNC_LINE.search(line):
            current["sync"] = float(synced.group(1))
    return minors


class SuspendedIo(FactBase[list[int]]):
    """
    The DRBD minors whose I/O is suspended (frozen: fencing has not confirmed the peer off).

    .. code:: python

        [0, 1]
    """

    default = list

    @override
    def command(self) -> str:
        return "cat /proc/drbd 2>/dev/null || true"

    @override
    def process(self, output: list[str]) -> list[int]:
        return sorted(minor for minor, fields in parse_proc_drbd(output).items() if fields.get("io") == "s")


def io_flowing() -> StringCommand:
    """A shell test that fails while I/O on any DRBD resource here is frozen."""
    return script_command(("frozen", "io_flowing"), [])


class DrbdResources(FactBase[dict[str, DrbdResourceState]]):
    """
    Returns the state of each given DRBD resource, keyed by name.

    + resources: (name, minor, backing device) for each resource

    .. code:: python

        {"drbd0": DrbdResourceState(name="drbd0", minor=0, module_loaded=True, configured=True,
                                    connection="Connected", role="Primary", peer_role="Primary",
                                    disk="UpToDate", peer_disk="UpToDate", ...)}
    """

    default = dict

    @override
    def command(self, resources: list[tuple[str, int, str]]) -> StringCommand:
        arguments = [part for resource in resources for part in resource]
        return script_command(("drbd",), arguments, head_bytes=DRBDMETA_CHECKED_BYTES)

    @override
    def process(self, output: list[str]) -> dict[str, DrbdResourceState]:
        sections = section_lines(output)
        proc = sections.get("proc", [])
        module_loaded = bool(proc) and "NO_MODULE=1" not in proc
        minors = parse_proc_drbd(proc) if module_loaded else {}
        split_brain_lines = sections.get("splitbrain", [])
        mounted = {
            fields[0]: fields[1] for fields in (line.split() for line in sections.get("mounts", [])) if len(fields) > 1
        }

        resources: dict[str, DrbdResourceState] = {}
        for header, lines in sections.items():
            if not header.startswith("resource "):
                continue
            _, name, minor_text, disk = header.split(" ", 3)
            minor = int(minor_text)
            values = dict(line.split("=", 1) for line in lines if "=" in line)
            kernel = minors.get(minor, {})
            configured = bool(kernel) and kernel.get("cs") != "Unconfigured"
            resources[name] = DrbdResourceState(
                name=name,
                minor=minor,
                module_loaded=module_loaded,
                configured=configured,
                config_file="CONFIG_FILE" in values,
                connection=str(kernel["cs"]) if configured else None,
                role=_optional(kernel.get("role")),
                peer_role=_optional(kernel.get("peer_role")),
                disk=_optional(kernel.get("disk")),
                peer_disk=_optional(kernel.get("peer_disk")),
                out_of_sync_kib=int(str(kernel.get("oos", 0))),
                sync_percent=float(str(kernel["sync"])) if "sync" in kernel else None,
                backing_device=disk,
                backing_exists="MISSING" not in values,
                backing_signature=values.get("TYPE"),
                backing_blkid_status=int(values.get("BLKID_RC", "2")),
                backing_head_zero="HEAD_ZERO" in values,
                size=int(values.get("SIZE", "0")) if configured else 0,
                generation=values.get("GI"),
                mount_point=mounted.get(f"/dev/drbd{minor}"),
                io_suspended=kernel.get("io") == "s",
                split_brain_reported=any(
                    re.search(rf"\b(drbd{minor}|{re.escape(name)})\b", line) for line in split_brain_lines
                ),
            )
        return resources


def _optional(value: object) -> str | None:
    return None if value is None else str(value)
