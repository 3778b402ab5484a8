"""LVM, ext4 volumes and tuning on the lab after a converge."""

from __future__ import annotations

import pytest
import testinfra

from tests.e2e.conftest import LAB_INVENTORY, Run, run_pyinfra

STORAGE = ("fiori", "torchio")


@pytest.fixture(params=STORAGE)
def node(request: pytest.FixtureRequest, converge: Run) -> testinfra.host.Host:
    return request.getfixturevalue(request.param)


def test_volume_group_and_volumes_at_their_lab_sizes(node: testinfra.host.Host) -> None:
    sizes = node.check_output("lvs --noheadings --units m --nosuffix -o lv_name,lv_size vg0")
    found = {name: float(size) for name, size in (line.split() for line in sizes.splitlines())}
    assert found == {"rep-no": 1024.0, "rep-drbd0": 1024.0, "rep-drbd1": 2112.0, "rep-unison": 2048.0}
    assert node.check_output("pvs --noheadings -o pv_name,vg_name").split() == ["/dev/vdb", "vg0"]


@pytest.mark.parametrize("mount_point", ["/vol/rep-no", "/vol/rep-unison"])
def test_ext4_volumes_mounted_with_the_procedures_options(node: testinfra.host.Host, mount_point: str) -> None:
    mount = node.mount_point(mount_point)
    assert mount.exists
    assert mount.filesystem == "ext4"
    assert {"noatime", "nodiratime"} <= set(mount.options)
    device = "/dev/mapper/vg0-" + mount_point.removeprefix("/vol/").replace("-", "--")
    assert f"{device} {mount_point} ext4 noatime,nodiratime 0 2" in node.file("/etc/fstab").content_string


def test_drbd_backing_volumes_hold_only_drbd_metadata(node: testinfra.host.Host) -> None:
    # The ext4 deploy never touches the volumes DRBD owns.
    for volume in ("rep--drbd0", "rep--drbd1"):
        assert node.check_output(f"blkid -p -o value -s TYPE /dev/mapper/vg0-{volume}") == "drbd"


def test_sysctls_live_and_persisted(node: testinfra.host.Host) -> None:
    assert node.sysctl("vm.min_free_kbytes") == 65536
    assert node.sysctl("kernel.panic") == 10
    assert node.sysctl("kernel.panic_on_oops") == 1
    persisted = node.file("/etc/sysctl.d/60-twinstore.conf").content_string
    assert "vm.min_free_kbytes = 65536" in persisted


# ext4's magic number sits at byte 0x438 of the volume: what `wipefs -a` erases, and all it erases.
EXT4_MAGIC_OFFSET = 0x438


def test_an_ext4_volume_whose_signature_was_wiped_is_not_formatted_over(
    converge: Run, fiori: testinfra.host.Host
) -> None:
    device, mount_point = "/dev/mapper/vg0-rep--no", "/vol/rep-no"
    fiori.check_output(f"echo kept > {mount_point}/twinstore-wipefs-marker && sync && umount {mount_point}")
    try:
        fiori.check_output(f"wipefs -a -q {device}")
        assert fiori.run(f"blkid -p {device}").rc == 2
        run = run_pyinfra("-y", "--limit", "fiori", LAB_INVENTORY, "deploy.py")
        assert run.returncode != 0
        assert f"{device} carries no signature blkid knows, but its first 1048576 bytes are not zero" in run.output
    finally:
        fiori.check_output(
            f"printf '\\123\\357' | dd of={device} bs=1 seek={EXT4_MAGIC_OFFSET} conv=notrunc status=none"
        )
    assert fiori.check_output(f"blkid -p -o value -s TYPE {device}") == "ext4"
    fiori.check_output(f"e2fsck -n {device} && mount {mount_point}")
    assert fiori.file(f"{mount_point}/twinstore-wipefs-marker").content_string == "kept\n"
    fiori.check_output(f"rm {mount_point}/twinstore-wipefs-marker")
