"""Online grow: each step decided from facts (the volume's, DRBD's and the file system's sizes),
so a run that stopped half-way is finished by the next one and a finished grow is a no-op."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from pyinfra.context import ctx_host

from facts.drbd import DrbdResources, internal_metadata_bytes, usable_bytes
from facts.lvm import BlockDevices, BlockDeviceState, LvmReport
from facts.ocfs2 import Ocfs2, Ocfs2Device
from operations import ext4
from operations.drbd import plan_resize
from operations.ocfs2 import grows
from operations.util import GROW_SLACK, VolumeSize, drbd_grows, operation_script, volume_size
from tests.helpers import FakeHost, drbd_resource
from tests.test_lvm import EXTENT, GIB, LAB_DRBD1, converged_state

MIB = 1024**2


@pytest.mark.parametrize(
    ("backing", "device"),
    [
        # Read on the lab (DRBD 8.4.11): the backing volume's and the DRBD device's sizes.
        (GIB, 1073672192),
        (LAB_DRBD1, 2214486016),
        (1088 * MIB, 1140776960),
    ],
)
def test_the_drbd_device_size_follows_from_its_backing_volume_as_on_the_lab(backing: int, device: int) -> None:
    assert usable_bytes(backing) == device
    assert internal_metadata_bytes(backing) == backing - device


def test_the_drbd_fact_reads_each_device_size() -> None:
    output = [
        "#twinstore-section proc",
        " 0: cs:Connected ro:Primary/Primary ds:UpToDate/UpToDate C r-----",
        " 1: cs:Unconfigured",
        "#twinstore-section resource drbd0 0 /dev/mapper/vg0-rep--drbd0",
        "SIZE=1073672192",
        "BLKID_RC=0",
        "TYPE=drbd",
        "#twinstore-section resource drbd1 1 /dev/mapper/vg0-rep--drbd1",
        "SIZE=0",
        "BLKID_RC=0",
        "TYPE=drbd",
    ]
    found = DrbdResources().process(output)
    assert (found["drbd0"].size, found["drbd1"].size) == (1073672192, 0)


def test_the_block_device_fact_reads_an_ext4_file_system_size() -> None:
    output = [
        "#twinstore-section /dev/mapper/vg0-rep--no",
        "SIZE=1140850688",
        "TYPE=ext4",
        "BLKID_RC=0",
        "FS_BYTES=1073741824",
        "#twinstore-section /dev/vdb",
        "SIZE=17179869184",
        "TYPE=LVM2_member",
        "BLKID_RC=0",
    ]
    found = BlockDevices().process(output)
    assert found["/dev/mapper/vg0-rep--no"].fs_size == GIB
    assert found["/dev/vdb"].fs_size is None
    assert "FS_BYTES" not in found["/dev/mapper/vg0-rep--no"].probe


def test_the_ocfs2_fact_reads_the_device_and_file_system_sizes() -> None:
    output = [
        "#twinstore-section cluster",
        "ONLINE=1",
        "#twinstore-section device /dev/drbd1",
        "DRBD= 1: cs:Connected ro:Primary/Primary ds:UpToDate/UpToDate C r-----",
        "MOUNTED=/vol/ocfs2-large",
        "DEVICE_BYTES=2214486016",
        "BLKID_RC=0",
        "TYPE=ocfs2",
        "#twinstore-section device /dev/drbd0",
        "DRBD= 0: cs:Connected ro:Primary/Primary ds:UpToDate/UpToDate C r-----",
        "DEVICE_BYTES=1073672192",
        "#twinstore-section statfs",
        "FS_BYTES=4096 540640 /vol/ocfs2-large",
    ]
    devices = Ocfs2().process(output).devices
    assert (devices["/dev/drbd1"].size, devices["/dev/drbd1"].fs_size) == (2214486016, 2214461440)
    # Not mounted here: its file system's size is not known.
    assert (devices["/dev/drbd0"].size, devices["/dev/drbd0"].fs_size) == (1073672192, None)


def test_a_volume_grows_to_whole_extents_and_never_shrinks() -> None:
    lvm = converged_state()
    assert volume_size(lvm, "vg0", "rep-no", "1G") == VolumeSize(GIB, GIB)
    grown = volume_size(lvm, "vg0", "rep-no", "1025M")
    assert grown == VolumeSize(GIB, GIB + EXTENT) and grown.grows
    assert not volume_size(lvm, "vg0", "rep-no", "512M").grows
    assert volume_size(lvm, "vg0", "new", "1G") == VolumeSize(None, GIB)


def test_drbd_grows_when_its_volume_grows_or_grew_in_a_run_that_stopped() -> None:
    now = usable_bytes(GIB)
    assert not drbd_grows(now, VolumeSize(GIB, GIB))
    assert drbd_grows(now, VolumeSize(GIB, GIB + EXTENT))
    # The volumes grew on both nodes, then the run stopped before DRBD did.
    assert drbd_grows(now, VolumeSize(GIB + EXTENT, GIB + EXTENT))
    assert not drbd_grows(usable_bytes(GIB + EXTENT), VolumeSize(GIB + EXTENT, GIB + EXTENT))
    # A resource that is down attaches at its full size.
    assert not drbd_grows(0, VolumeSize(GIB, GIB + EXTENT))


GROWING = VolumeSize(GIB, GIB + 64 * MIB)


def test_the_first_node_alone_resizes_a_healthy_pair() -> None:
    local = drbd_resource("drbd0", 0, size=usable_bytes(GIB))
    first = plan_resize("drbd0", "fiori", "fiori", "torchio", local, local, True, GROWING)
    second = plan_resize("drbd0", "torchio", "fiori", "fiori", local, local, True, GROWING)
    assert first == (True, []) and second == (False, [])
    done = drbd_resource("drbd0", 0, size=usable_bytes(GROWING.wanted))
    assert plan_resize("drbd0", "fiori", "fiori", "torchio", done, done, True, VolumeSize(*[GROWING.wanted] * 2)) == (
        False,
        [],
    )


@pytest.mark.parametrize(
    ("changes", "peer_targeted", "reachable", "says"),
    [
        ({}, False, True, "needs both nodes in the run, and torchio is not in this run (--limit)"),
        ({}, True, False, "needs both nodes in the run, and torchio cannot be reached"),
        ({"connection": "SyncSource", "peer_disk": "Inconsistent"}, True, True, "no resync or verify running"),
        ({"connection": "VerifyS"}, True, True, "no resync or verify running"),
        ({"connection": "WFConnection", "peer_disk": "DUnknown"}, True, True, "Connected with both disks UpToDate"),
    ],
)
def test_a_grow_is_refused_unless_both_nodes_run_and_the_pair_is_whole(
    changes: dict[str, str], peer_targeted: bool, reachable: bool, says: str
) -> None:
    local = drbd_resource("drbd1", 1, size=usable_bytes(GIB), **changes)
    peer = drbd_resource("drbd1", 1, size=usable_bytes(GIB)) if reachable else None
    resize, problems = plan_resize("drbd1", "fiori", "fiori", "torchio", local, peer, peer_targeted, GROWING)
    assert not resize
    assert len(problems) == 1 and says in problems[0].rule, problems
    assert problems[0].field == "drbd_resources.drbd1"
    assert "to grow to 1087 MiB" in problems[0].rule


def ocfs2_device(size: int, fs_size: int | None) -> Ocfs2Device:
    return Ocfs2Device(path="/dev/drbd1", exists=True, signature="ocfs2", size=size, fs_size=fs_size)


def test_ocfs2_grows_with_its_device_or_after_a_run_that_stopped_before_it() -> None:
    # OCFS2 ends on a whole cluster: 24 KiB short of its device on the lab is grown.
    assert not grows(ocfs2_device(2214486016, 2214461440), False)
    assert grows(ocfs2_device(2214486016, 2214461440), True)
    assert grows(ocfs2_device(2214486016 + 64 * MIB, 2214461440), False)
    assert not grows(ocfs2_device(2214486016, None), False)
    assert not grows(None, True)
    assert GROW_SLACK == MIB


def ext4_commands(volume: str, fs_size: int | None, size: VolumeSize) -> tuple[list[str], list[str]]:
    device = f"/dev/mapper/vg0-{volume.replace('-', '--')}"
    state = BlockDeviceState(device, True, size.existing or 0, "ext4", {"TYPE": "ext4"}, 0, fs_size=fs_size)
    host = FakeHost({BlockDevices: {device: state}, LvmReport: converged_state()})
    with ctx_host.use(host):
        commands = [str(command) for command in ext4.grown._inner(device=device, size=size)]
    return commands, host.noops


def test_ext4_grows_online_with_its_volume_and_only_then() -> None:
    assert ext4_commands("rep-no", GIB, GROWING)[0] == ["resize2fs /dev/mapper/vg0-rep--no"]
    # The volume grew and the run stopped before the file system did.
    grown = VolumeSize(GROWING.wanted, GROWING.wanted)
    assert ext4_commands("rep-no", GIB, grown)[0] == ["resize2fs /dev/mapper/vg0-rep--no"]
    # resize2fs left out a last block group too small for its metadata: not grown again.
    assert ext4_commands("rep-no", GROWING.wanted - 2 * MIB, grown) == (
        [],
        ["ext4 on /dev/mapper/vg0-rep--no fills its volume"],
    )
    assert ext4_commands("rep-no", None, VolumeSize(None, GIB))[0] == []


def run_resize(
    tmp_path: Path, state: str, grows_to: int, grows_after: int = 0, timeout: int = 5
) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    """operations/scripts/drbd_resize.sh against a /proc/drbd, a sysfs size, drbdadm and dd of the
    test's; the size grows grows_after seconds after drbdadm returns (the peer's agreement)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    proc = tmp_path / "proc-drbd"
    proc.write_text(f"version: 8.4.11 (api:1/proto:86-101)\n{state}\n    ns:0 nr:0 oos:0\n")
    size = tmp_path / "size"
    size.write_text("2097016\n")
    calls = tmp_path / "calls"
    (bin_dir / "drbdadm").write_text(
        # The new size appears at once, as in sysfs: a read never sees a half-written file.
        f'#!/bin/sh\necho "drbdadm $*" >> {calls}\n'
        # Its own output closed: the test's capture would otherwise wait for the sleep to end.
        f"(sleep {grows_after}; echo {grows_to} > {size}.new; mv {size}.new {size}) >/dev/null 2>&1 &\n"
    )
    (bin_dir / "dd").write_text(f'#!/bin/sh\necho "dd $*" >> {calls}\n')
    for tool in ("drbdadm", "dd"):
        (bin_dir / tool).chmod(0o755)
    command = (
        operation_script("drbd_resize", "drbd0", 0, timeout=timeout)
        .get_raw_value()
        .replace("/proc/drbd", str(proc))
        .replace("/sys/block/drbd$minor/size", str(size))
    )
    ran = subprocess.run(
        ["sh", "-c", command], env={"PATH": f"{bin_dir}:/usr/bin:/bin"}, capture_output=True, text=True, check=False
    )
    return ran, calls.read_text().splitlines() if calls.exists() else []


HEALTHY = " 0: cs:Connected ro:Primary/Primary ds:UpToDate/UpToDate C r-----"


def test_the_resize_runs_without_a_resync_and_zeroes_the_new_space_through_drbd(tmp_path: Path) -> None:
    ran, calls = run_resize(tmp_path, HEALTHY, 2228080)
    assert ran.returncode == 0, ran.stderr
    before, after = 2097016 * 512, 2228080 * 512
    assert calls == [
        "drbdadm -- --assume-clean resize drbd0",
        f"dd if=/dev/zero of=/dev/drbd0 bs=1M seek={before} count={after - before} "
        "oflag=seek_bytes,direct iflag=count_bytes conv=notrunc status=none",
    ]
    assert "drbd0 grew from 1023 MiB to 1087 MiB" in ran.stdout


def test_the_zeros_wait_until_drbd_has_grown_the_device(tmp_path: Path) -> None:
    # DRBD grows the device when the peer agrees, after drbdadm returns: zeros written before
    # would leave the old metadata's place different on the two nodes.
    ran, calls = run_resize(tmp_path, HEALTHY, 2228080, grows_after=2, timeout=30)
    assert ran.returncode == 0, ran.stderr
    before, after = 2097016 * 512, 2228080 * 512
    assert calls[-1].startswith(f"dd if=/dev/zero of=/dev/drbd0 bs=1M seek={before} count={after - before} ")


def test_a_device_that_does_not_grow_gets_no_zeros_and_fails_the_run(tmp_path: Path) -> None:
    ran, calls = run_resize(tmp_path, HEALTHY, 2228080, grows_after=30, timeout=1)
    assert ran.returncode == 1
    assert calls == ["drbdadm -- --assume-clean resize drbd0"]
    assert "drbd0 did not grow within 1 s of drbdadm resize" in ran.stderr


@pytest.mark.parametrize(
    "state",
    [
        " 0: cs:SyncSource ro:Primary/Primary ds:UpToDate/Inconsistent C r-----",
        " 0: cs:VerifyS ro:Primary/Primary ds:UpToDate/UpToDate C r-----",
        " 0: cs:WFConnection ro:Primary/Unknown ds:UpToDate/DUnknown C r-----",
        " 1: cs:Connected ro:Primary/Primary ds:UpToDate/UpToDate C r-----",
    ],
)
def test_the_resize_is_checked_on_the_host_against_the_pairs_state(tmp_path: Path, state: str) -> None:
    ran, calls = run_resize(tmp_path, state, 2228080)
    assert ran.returncode == 1 and calls == []
    assert "not Connected with both disks UpToDate" in ran.stderr


def run_ocfs2_grow(tmp_path: Path, mounts: str) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    """operations/scripts/ocfs2_grow.sh against a /proc/mounts and a tunefs.ocfs2 of the test's."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(parents=True)
    proc_mounts = tmp_path / "mounts"
    proc_mounts.write_text(mounts)
    calls = tmp_path / "calls"
    (bin_dir / "tunefs.ocfs2").write_text(f'#!/bin/sh\necho "tunefs.ocfs2 $*" >> {calls}\n')
    (bin_dir / "tunefs.ocfs2").chmod(0o755)
    command = operation_script("ocfs2_grow", "/dev/drbd1").get_raw_value().replace("/proc/mounts", str(proc_mounts))
    ran = subprocess.run(
        ["sh", "-c", command], env={"PATH": f"{bin_dir}:/usr/bin:/bin"}, capture_output=True, text=True, check=False
    )
    return ran, calls.read_text().splitlines() if calls.exists() else []


def test_ocfs2_grows_online_only_where_it_is_mounted(tmp_path: Path) -> None:
    mounted = "/dev/drbd1 /vol/ocfs2-large ocfs2 rw,noatime 0 0\n"
    ran, calls = run_ocfs2_grow(tmp_path / "mounted", mounted)
    assert ran.returncode == 0 and calls == ["tunefs.ocfs2 -S /dev/drbd1"]
    ran, calls = run_ocfs2_grow(tmp_path / "not", "/dev/drbd0 /vol/ocfs2-small ocfs2 rw 0 0\n")
    assert ran.returncode == 1 and calls == []
    assert "not mounted on this node" in ran.stderr
