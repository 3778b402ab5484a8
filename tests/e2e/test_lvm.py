"""LVM, ext4 volumes and tuning on the lab after a converge."""

from __future__ import annotations

import pytest
import testinfra

from tests.e2e.conftest import Run

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
