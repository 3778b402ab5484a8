"""LVM facts from real command output, and the LVM plan's refusals."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from pyinfra.api import OperationError
from pyinfra.context import ctx_host

from facts.lvm import BlockDevices, BlockDeviceState, LogicalVolumeState, LvmReport, LvmState, VolumeGroupState
from operations.lvm import logical_volume, lvm_problems, volume_group
from operations.util import refuse_unless_blank
from tests.helpers import FakeHost
from twinstore.config import StorageConfig
from twinstore.validation import storage_config

FIXTURES = Path(__file__).parent / "fixtures"
GIB = 1024**3
EXTENT = 4 * 1024**2


class _Data:
    def __init__(self, values: dict) -> None:
        self.values = values

    def get(self, key: str, default: object = None) -> object:
        return self.values.get(key, default)


class _ConfigHost:
    def __init__(self, values: dict) -> None:
        self.data = _Data(values)


def lab_config() -> StorageConfig:
    from tests.helpers import ROOT, real_views

    views = real_views(
        ROOT / "lab" / "inventory.py",
        {"storage": ["fiori", "torchio"], "nis_servers": ["client"], "nfs_clients": ["client"]},
    )
    fiori = next(v for v in views if v.name == "fiori")
    return storage_config(_ConfigHost(fiori.data))


# lab/group_data/storage.py: the smallest backing volume -T vmstore allows.
LAB_DRBD1 = 2112 * 1024**2


def converged_state(sizes: dict[str, int] | None = None) -> LvmState:
    sizes = sizes or {"rep-no": GIB, "rep-drbd0": GIB, "rep-drbd1": LAB_DRBD1, "rep-unison": 2 * GIB}
    return LvmState(
        available=True,
        volume_groups={"vg0": VolumeGroupState("vg0", 16 * GIB - EXTENT, 10 * GIB - EXTENT, EXTENT, ("/dev/vdb",))},
        logical_volumes={("vg0", n): LogicalVolumeState("vg0", n, s, f"/dev/vg0/{n}", True) for n, s in sizes.items()},
        physical_volumes={"/dev/vdb": "vg0"},
    )


def test_lvm_report_parses_real_output() -> None:
    output = (FIXTURES / "lvm-report-converged.txt").read_text().splitlines()
    state = LvmReport().process(output)
    assert state.available
    assert state.volume_groups["vg0"].extent_size == EXTENT
    assert state.volume_groups["vg0"].devices == ("/dev/vdb",)
    assert state.logical_volumes[("vg0", "rep-no")].size == GIB
    assert state.logical_volumes[("vg0", "rep-drbd1")].size == LAB_DRBD1
    assert state.logical_volumes[("vg0", "rep-unison")].path == "/dev/vg0/rep-unison"
    assert set(state.logical_volumes) == {("vg0", n) for n in ("rep-no", "rep-drbd0", "rep-drbd1", "rep-unison")}


def test_lvm_report_on_a_disk_with_no_volume_group() -> None:
    output = (FIXTURES / "lvm-report-empty.txt").read_text().splitlines()
    state = LvmReport().process(output)
    assert state.available
    assert state.volume_groups == {}
    assert state.logical_volumes == {}


def test_lvm_report_with_a_second_group_and_a_physical_volume_in_none() -> None:
    # lvm fullreport on the lab: vg0, a group vgt of one inactive volume on loop1, loop0 in no group.
    output = (FIXTURES / "lvm-report-two-groups.txt").read_text().splitlines()
    state = LvmReport().process(output)
    assert set(state.volume_groups) == {"vg0", "vgt"}
    assert state.volume_groups["vgt"].devices == ("/dev/loop1",)
    assert state.volume_groups["vgt"].size == 60 * 1024**2
    assert state.physical_volumes == {"/dev/vdb": "vg0", "/dev/loop1": "vgt", "/dev/loop0": ""}
    small = state.logical_volumes[("vgt", "small")]
    assert (small.size, small.path, small.active) == (8 * 1024**2, "/dev/vgt/small", False)
    assert len(state.logical_volumes) == 5


def test_lvm_report_without_lvm2_installed() -> None:
    assert LvmReport().process([]) == LvmState(available=False)


def test_block_devices_parse_blank_signed_and_missing() -> None:
    output = (FIXTURES / "block-devices.txt").read_text().splitlines()
    devices = BlockDevices().process(output)
    assert devices["/dev/vdb"].signature == "LVM2_member"
    assert devices["/dev/vdb"].size == 16 * GIB
    assert devices["/dev/mapper/vg0-rep--drbd1"].is_blank
    assert devices["/dev/mapper/vg0-rep--no"].signature == "ext4"
    assert not devices["/dev/mapper/vg0-rep--no"].is_blank
    assert not devices["/dev/vdz"].exists


def test_converged_host_has_no_lvm_problems() -> None:
    assert lvm_problems(lab_config(), converged_state(), {}) == []


def test_shrinking_a_volume_is_refused() -> None:
    state = converged_state({"rep-no": 3 * GIB, "rep-drbd0": GIB, "rep-drbd1": LAB_DRBD1, "rep-unison": 2 * GIB})
    problems = lvm_problems(lab_config(), state, {}, "lab/group_data/storage.py", "fiori")
    assert [str(p) for p in problems] == [
        f"lab/group_data/storage.py: logical_volumes.rep-no.size = '1G': vg0/rep-no is already {3 * GIB} bytes "
        "on fiori; volumes are grown, never shrunk"
    ]


def test_growing_a_drbd_backing_volume_is_planned_when_it_fits() -> None:
    # Whether the pair may grow is DRBD's planner's to say (tests/test_grow.py); LVM checks the room.
    state = converged_state({"rep-no": GIB, "rep-drbd0": GIB, "rep-drbd1": 2 * GIB, "rep-unison": 2 * GIB})
    assert lvm_problems(lab_config(), state, {}, "lab/group_data/storage.py", "fiori") == []


def test_volumes_that_do_not_fit_are_refused_before_any_change() -> None:
    state = converged_state()
    full = LvmState(
        available=True,
        volume_groups={"vg0": VolumeGroupState("vg0", 16 * GIB, 0, EXTENT, ("/dev/vdb",))},
        logical_volumes={k: v for k, v in state.logical_volumes.items() if k[1] != "rep-unison"},
        physical_volumes=state.physical_volumes,
    )
    problems = lvm_problems(lab_config(), full, {}, "group_data/storage.py", "fiori")
    assert any(
        "the logical volumes do not fit: vg0 has 0 MiB free on fiori, 2048 MiB short" in str(p) for p in problems
    )


def test_a_disk_with_a_signature_is_refused_for_the_volume_group() -> None:
    devices = {"/dev/vdb": BlockDeviceState("/dev/vdb", True, 16 * GIB, "ext4", {"TYPE": "ext4"}, blkid_status=0)}
    problems = lvm_problems(lab_config(), LvmState(available=True), devices, "lab/group_data/storage.py", "fiori")
    assert any("volume_group.devices = '/dev/vdb': the disk carries ext4 on fiori" in str(p) for p in problems)


def test_a_disk_blkid_cannot_decide_about_is_not_blank() -> None:
    ambivalent = BlockDeviceState("/dev/vdb", True, 16 * GIB, None, {}, blkid_status=8)
    assert not ambivalent.is_blank
    problems = lvm_problems(lab_config(), LvmState(available=True), {"/dev/vdb": ambivalent})
    assert any("several signatures (blkid: ambivalent result)" in str(p) for p in problems)


def test_drbd_metadata_under_a_filesystem_reads_as_drbd() -> None:
    output = (FIXTURES / "block-devices-drbd-metadata-under-ext4.txt").read_text().splitlines()
    device = BlockDevices().process(output)["/dev/mapper/vg0-rep--drbd0"]
    assert device.signature == "drbd"
    assert not device.is_blank


def test_a_missing_disk_is_refused() -> None:
    devices = {"/dev/vdb": BlockDeviceState("/dev/vdb", False)}
    problems = lvm_problems(lab_config(), LvmState(available=True), devices)
    assert any("no such block device" in str(p) for p in problems)


def test_volume_group_created_only_behind_a_blank_check() -> None:
    host = FakeHost({LvmReport: LvmState(available=True)})
    with ctx_host.use(host):
        commands = [
            str(c.get_raw_value() if hasattr(c, "get_raw_value") else c)
            for c in volume_group._inner(group="vg0", devices=["/dev/vdb"])
        ]
    assert "blkid -p" in commands[0]
    assert commands[1:] == ["lvm pvcreate /dev/vdb", "lvm vgcreate vg0 /dev/vdb"]


def test_existing_volume_group_is_a_noop() -> None:
    host = FakeHost({LvmReport: converged_state()})
    with ctx_host.use(host):
        assert list(volume_group._inner(group="vg0", devices=["/dev/vdb"])) == []
    assert host.noops == ["volume group vg0 exists"]


def test_logical_volume_grows_but_never_shrinks() -> None:
    host = FakeHost({LvmReport: converged_state()})
    with ctx_host.use(host):
        grow = [str(c) for c in logical_volume._inner(group="vg0", volume="rep-no", size="2G")]
        same = list(logical_volume._inner(group="vg0", volume="rep-no", size="1G"))
        with pytest.raises(OperationError, match="refusing to shrink"):
            list(logical_volume._inner(group="vg0", volume="rep-unison", size="1G"))
    assert grow == [f"lvm lvextend --size {2 * GIB}b vg0/rep-no"]
    assert same == []


def run_guard(device: Path, zero_head_bytes: int = 0) -> subprocess.CompletedProcess[str]:
    command = refuse_unless_blank(str(device), zero_head_bytes=zero_head_bytes).get_raw_value()
    return subprocess.run(command, shell=True, capture_output=True, text=True)


def test_the_on_host_guard_checks_the_head_only_when_asked(tmp_path: Path) -> None:
    # A regular file stands in for the device: blkid -p and cmp treat it the same way.
    device = tmp_path / "backing"
    device.write_bytes(bytes(128 * 1024))
    assert run_guard(device, zero_head_bytes=68 * 1024).returncode == 0
    with device.open("r+b") as handle:
        handle.seek(4096)
        handle.write(b"left behind by wipefs")
    assert run_guard(device).returncode == 0
    refused = run_guard(device, zero_head_bytes=68 * 1024)
    assert refused.returncode == 1
    assert "its first 69632 bytes are not zero" in refused.stderr
