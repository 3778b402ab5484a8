"""mkfs only on a volume that carries nothing; a filesystem already there is left alone."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from pyinfra.api import OperationError
from pyinfra.context import ctx_host
from pyinfra.operations.util.files import adjust_regex

from facts.lvm import ZERO_HEAD_BYTES, BlockDevices, BlockDeviceState
from operations.ext4 import filesystem
from operations.lvm import LVCREATE_ZEROED_BYTES
from operations.util import fstab_match
from tests.helpers import FakeHost, real_storage_config

DEVICE = "/dev/mapper/vg0-rep--no"


def commands_for(state: BlockDeviceState | None, new_volume: bool = False) -> tuple[list[str], FakeHost]:
    host = FakeHost({BlockDevices: {DEVICE: state} if state else {}})
    with ctx_host.use(host):
        commands = [c.get_raw_value() for c in filesystem._inner(device=DEVICE, new_volume=new_volume)]
    return commands, host


def test_mapper_path_doubles_dashes_like_device_mapper() -> None:
    assert real_storage_config().mapper_path("rep-unison") == "/dev/mapper/vg0-rep--unison"
    dashed = real_storage_config(volume_group={"name": "vg-data"})
    assert dashed.mapper_path("rep-no") == "/dev/mapper/vg--data-rep--no"


def test_existing_ext4_is_left_alone() -> None:
    commands, host = commands_for(BlockDeviceState(DEVICE, True, 1024, "ext4", {"TYPE": "ext4"}, blkid_status=0))
    assert commands == []
    assert host.noops == [f"{DEVICE} holds ext4"]


@pytest.mark.parametrize("signature", ["ocfs2", "xfs", "drbd", "LVM2_member"])
def test_any_other_signature_is_refused(signature: str) -> None:
    with pytest.raises(OperationError, match=f"already holds {signature}; refusing to make ext4"):
        commands_for(BlockDeviceState(DEVICE, True, 1024, signature, {"TYPE": signature}, blkid_status=0))


def test_a_blank_volume_gets_ext4_behind_a_last_moment_check() -> None:
    commands, _ = commands_for(BlockDeviceState(DEVICE, True, 1024, head_zero=True))
    assert "blkid -p" in commands[0] and f"zero_head_bytes={ZERO_HEAD_BYTES}\n" in commands[0]
    assert commands[1] == f"mkfs.ext4 -q {DEVICE}"


def test_a_volume_blank_to_blkid_but_not_zero_at_its_start_is_refused() -> None:
    # What `wipefs -a` leaves of an ext4 filesystem: the magic is gone, the superblock is not.
    with pytest.raises(OperationError, match=f"first {ZERO_HEAD_BYTES} bytes are not zero"):
        commands_for(BlockDeviceState(DEVICE, True, 1024, head_zero=False))


def test_a_volume_created_in_this_run_gets_ext4_behind_the_check_lvcreate_makes_true() -> None:
    commands, _ = commands_for(None, new_volume=True)
    assert f"zero_head_bytes={LVCREATE_ZEROED_BYTES}\n" in commands[0]
    assert commands[-1] == f"mkfs.ext4 -q {DEVICE}"


def run_fact_script(device: Path) -> BlockDeviceState:
    command = BlockDevices().command(paths=[str(device)]).get_raw_value()
    # The fact script asks `[ -b ]`; a regular file stands in for the device here.
    script = command.replace("[ -b ", "[ -f ").replace('blockdev --getsize64 "$d"', 'stat -c %s "$d"')
    output = subprocess.run(["sh", "-c", script], capture_output=True, text=True, check=True).stdout
    return BlockDevices().process(output.splitlines())[str(device)]


def test_the_fact_sees_what_wipefs_leaves_of_ext4(tmp_path: Path) -> None:
    device = tmp_path / "volume"
    with device.open("wb") as f:
        f.truncate(8 * 2**20)
    assert run_fact_script(device).proven_blank
    subprocess.run(["mkfs.ext4", "-q", "-F", str(device)], check=True, capture_output=True)
    formatted = run_fact_script(device)
    assert formatted.signature == "ext4" and not formatted.proven_blank
    subprocess.run(["wipefs", "-a", "-q", str(device)], check=True, capture_output=True)
    wiped = run_fact_script(device)
    assert wiped.is_blank and not wiped.head_zero and not wiped.proven_blank


def test_a_missing_volume_not_created_by_this_run_is_an_error() -> None:
    with pytest.raises(OperationError, match="does not exist"):
        commands_for(BlockDeviceState(DEVICE, False))


FSTAB = """\
/dev/vda / ext4 errors=remount-ro 0 1
/dev/mapper/vg0-rep--no /vol/rep-no ext4 noatime 0 2
/dev/mapper/vg0-rep--no2 /vol/rep-no2 ext4 noatime,nodiratime 0 2
"""


def test_fstab_entry_is_found_and_replaced_by_grep_and_sed_as_pyinfra_runs_them(tmp_path: Path) -> None:
    fstab = tmp_path / "fstab"
    fstab.write_text(FSTAB)
    # files.line wraps the regex in ^...$ and asks grep -E, then sed -E replaces (extended_regex=True).
    pattern = adjust_regex(fstab_match("/vol/rep-no"), escape_regex_characters=False)
    found = subprocess.run(["grep", "-E", "-e", pattern, str(fstab)], capture_output=True, text=True, check=True)
    assert found.stdout == "/dev/mapper/vg0-rep--no /vol/rep-no ext4 noatime 0 2\n"
    replace = "/dev/mapper/vg0-rep--no /vol/rep-no ext4 noatime,nodiratime 0 2"
    script = "s/" + pattern.replace("/", r"\/") + "/" + replace.replace("/", r"\/") + "/"
    subprocess.run(["sed", "-E", "-i", script, str(fstab)], check=True)
    lines = fstab.read_text().splitlines()
    assert lines[1] == replace and lines[2].startswith("/dev/mapper/vg0-rep--no2 /vol/rep-no2 ") and len(lines) == 3


def test_fstab_match_escapes_regex_characters_of_the_mount_point() -> None:
    assert fstab_match("/vol/a.b") == r"^\S+\s+/vol/a\.b\s"
