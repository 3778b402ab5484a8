"""LVM and block device facts: the whole LVM state and the signatures on devices, one command each."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from pyinfra.api import FactBase, StringCommand
from typing_extensions import override

from facts.util import SECTION, key_values, script_command, section_lines

# A device is "blank" for mkfs only when blkid finds nothing and this much of its start is zero:
# partition tables, LVM labels and most superblocks live there, and `wipefs` erases only the
# magic bytes blkid looks for, leaving the rest of a superblock behind.
ZERO_HEAD_BYTES = 1024 * 1024


@dataclass(frozen=True)
class VolumeGroupState:
    name: str
    size: int
    free: int
    extent_size: int
    devices: tuple[str, ...] = ()


@dataclass(frozen=True)
class LogicalVolumeState:
    volume_group: str
    name: str
    size: int
    path: str
    active: bool


@dataclass
class LvmState:
    """Everything LVM knows on a host; ``available`` is False when lvm2 is not installed yet."""

    available: bool = False
    volume_groups: dict[str, VolumeGroupState] = field(default_factory=dict)
    logical_volumes: dict[tuple[str, str], LogicalVolumeState] = field(default_factory=dict)
    physical_volumes: dict[str, str] = field(default_factory=dict)


def _split_sections(output: list[str]) -> dict[str, str]:
    return {name: "\n".join(lines) for name, lines in section_lines(output).items()}


def _report_rows(text: str, kind: str) -> list[dict[str, Any]]:
    if not text.strip():
        return []
    report = json.loads(text).get("report", [])
    return [row for part in report for row in part.get(kind, [])]


class LvmReport(FactBase[LvmState]):
    """
    Returns the host's volume groups, logical volumes and physical volumes (sizes in bytes).

    .. code:: python

        LvmState(available=True,
                 volume_groups={"vg0": VolumeGroupState("vg0", 17175674880, 10733223936, 4194304, ("/dev/vdb",))},
                 logical_volumes={("vg0", "rep-no"): LogicalVolumeState(
                     "vg0", "rep-no", 1073741824, "/dev/vg0/rep-no", True)},
                 physical_volumes={"/dev/vdb": "vg0"})
    """

    default = LvmState

    @override
    def command(self) -> str:
        # One lvm program for all three reports (each lvm start scans the devices: 0.17 s under
        # TCG); JSON so names and sizes need no guessing. fullreport also prints each volume
        # group's segments, cut to one column here, and a report without a volume group for the
        # physical volumes in none.
        options = (
            "--reportformat json --units b --nosuffix"
            " --configreport vg -o vg_name,vg_size,vg_free,vg_extent_size"
            " --configreport lv -o vg_name,lv_name,lv_size,lv_path,lv_active"
            " --configreport pv -o pv_name,vg_name"
            " --configreport pvseg -o pvseg_start --configreport seg -o seg_start"
        )
        report = f"lvm fullreport {options} 2>/dev/null"
        return f"command -v lvm >/dev/null 2>&1 || exit 0; echo '{SECTION}report'; {report}; true"

    @override
    def process(self, output: list[str]) -> LvmState:
        sections = _split_sections(output)
        if not sections:
            return LvmState()
        state = LvmState(available=True)
        report = sections.get("report", "")
        for row in _report_rows(report, "pv"):
            state.physical_volumes[row["pv_name"]] = row["vg_name"]
        for row in _report_rows(report, "vg"):
            name = row["vg_name"]
            state.volume_groups[name] = VolumeGroupState(
                name=name,
                size=int(row["vg_size"]),
                free=int(row["vg_free"]),
                extent_size=int(row["vg_extent_size"]),
                devices=tuple(sorted(pv for pv, vg in state.physical_volumes.items() if vg == name)),
            )
        for row in _report_rows(report, "lv"):
            key = (row["vg_name"], row["lv_name"])
            state.logical_volumes[key] = LogicalVolumeState(
                volume_group=row["vg_name"],
                name=row["lv_name"],
                size=int(row["lv_size"]),
                path=row["lv_path"] or f"/dev/{row['vg_name']}/{row['lv_name']}",
                active=row["lv_active"] == "active",
            )
        return state


@dataclass(frozen=True)
class BlockDeviceState:
    path: str
    exists: bool
    size: int = 0
    # blkid -p probe: TYPE (ext4, ocfs2, LVM2_member, drbd, ...) or None when nothing was found.
    signature: str | None = None
    probe: dict[str, str] = field(default_factory=dict)
    # blkid's exit status: 0 found, 2 nothing found, 8 ambivalent (several signatures, as
    # OCFS2 on DRBD internal metadata shows on the backing LV), anything else an error.
    blkid_status: int = 2
    # The first ZERO_HEAD_BYTES are zero; read only when blkid found nothing.
    head_zero: bool = False
    # An ext2/3/4 file system's size, from its superblock.
    fs_size: int | None = None

    @property
    def is_blank(self) -> bool:
        """Nothing at all was found: only then may anything write to this device."""
        return self.exists and self.blkid_status == 2 and self.signature is None and not self.probe

    @property
    def proven_blank(self) -> bool:
        """Blank to blkid and zero at the start: not even a wiped filesystem's remains are there."""
        return self.is_blank and self.head_zero

    @property
    def description(self) -> str:
        if self.blkid_status == 8:
            return "several signatures (blkid: ambivalent result)"
        if self.blkid_status not in (0, 2):
            return f"an unreadable probe (blkid exit {self.blkid_status})"
        return self.signature or "a signature"


class BlockDevices(FactBase[dict[str, BlockDeviceState]]):
    """
    Returns, for each given path, whether the block device exists, its size, the
    signature ``blkid -p`` finds on it (low-level probe, not the cache) and, when it finds
    none, whether the device's first ZERO_HEAD_BYTES are zero.

    .. code:: python

        {"/dev/vdb": BlockDeviceState("/dev/vdb", True, 17179869184, None, {})}
    """

    default = dict
    # A read of some paths is answered from a read of more (twinstore/fact_cache.py).
    items_argument = "paths"

    @staticmethod
    def narrow(answer: dict[str, BlockDeviceState], paths: list[str]) -> dict[str, BlockDeviceState]:
        return {path: state for path, state in answer.items() if path in paths}

    @override
    def command(self, paths: list[str]) -> StringCommand:
        return script_command(("block_devices",), paths, head_bytes=ZERO_HEAD_BYTES)

    @override
    def process(self, output: list[str]) -> dict[str, BlockDeviceState]:
        devices: dict[str, BlockDeviceState] = {}
        values = {path: dict(key_values(lines)) for path, lines in section_lines(output).items()}
        for path, probe in values.items():
            if probe.pop("MISSING", None):
                devices[path] = BlockDeviceState(path=path, exists=False)
                continue
            size = int(probe.pop("SIZE", "0") or 0)
            status = int(probe.pop("BLKID_RC", "2") or 2)
            head_zero = probe.pop("HEAD_ZERO", None) is not None
            fs_size = probe.pop("FS_BYTES", None)
            probe.pop("DEVNAME", None)
            devices[path] = BlockDeviceState(
                path=path,
                exists=True,
                size=size,
                signature=probe.get("TYPE") or probe.get("PTTYPE"),
                probe=probe,
                blkid_status=status,
                head_zero=head_zero,
                fs_size=int(fs_size) if fs_size else None,
            )
        return devices
