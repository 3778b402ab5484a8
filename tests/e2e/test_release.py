"""The other Debian release: the deploy builds a pair on it, changes nothing on a second run,
serves NFS, and both nodes rebooted together come back in service.

The suite's labs run one release (lab/image.py's default, or TWINSTORE_LAB_RELEASE); this module
boots a lab of its own on the other one, with fresh guests, after every other test of its worker
(tests/conftest.py), so that it never runs beside two other labs on a 2-core host.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator

import pytest

from lab.image import LAB_FENCE_AGENT, RELEASES
from lab.settings import lab_dir
from tests.e2e.conftest import (
    LAB_INVENTORY,
    Run,
    guest,
    other_release,
    other_release_environment,
    reboot,
    run_lab,
    run_pyinfra,
    wait_for,
)
from tests.e2e.test_faults import HEALTHY, MOUNTED
from tests.e2e.test_ocfs2 import BOTH_REBOOT_TIMEOUT_S

pytestmark = pytest.mark.other_release

# The package of the lab's fence agent (fence_redfish) on each release.
AGENT_PACKAGE = {"bookworm": "fence-agents", "trixie": "fence-agents-redfish"}
IN_SERVICE = "systemctl is-active twinstore-storage nfs-server | sort -u"
NFS_OPTIONS = "-o nfsvers=3,noatime,nodiratime"


@pytest.fixture(scope="module")
def other_release_lab() -> Iterator[str]:
    """A lab of the other release, with fresh guests; this process's environment is the other
    lab's for the module (every `python -m lab` and pyinfra run inherits it), then restored."""
    release = other_release()
    if "PYTEST_XDIST_WORKER" in os.environ:
        # The suite's: stopped, not left idle beside the first lab (tests/conftest.py: a third
        # running lab slows every other).
        run_lab("down")
    saved = dict(os.environ)
    other = other_release_environment()
    os.environ.clear()
    os.environ.update(other)
    try:
        run_lab("reset")
        yield release
    finally:
        run_lab("down")
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture(scope="module")
def other_converge(other_release_lab: str) -> Run:
    run = run_pyinfra("-y", LAB_INVENTORY, "deploy.py")
    assert run.returncode == 0, run.output[-5000:]
    return run


def test_a_fresh_pair_on_the_other_release_converges_and_a_second_run_changes_nothing(
    other_release_lab: str, other_converge: Run
) -> None:
    release = other_release_lab
    assert lab_dir().name.endswith(f"-{release}")
    for name in ("fiori", "torchio", "client"):
        os_release = guest(name).check_output("cat /etc/os-release")
        assert f'VERSION_ID="{RELEASES[release]}"' in os_release, os_release
        assert f"VERSION_CODENAME={release}" in os_release, os_release

    # Only the pair's fence agent, in the package this release ships it in: Debian 13's
    # fence-agents is a metapackage of every agent and every cloud's SDK.
    for name in ("fiori", "torchio"):
        node = guest(name)
        assert node.run(f"command -v {LAB_FENCE_AGENT}").rc == 0
        assert node.package(AGENT_PACKAGE[release]).is_installed
        if release != "bookworm":
            assert not node.package("fence-agents").is_installed

    again = run_pyinfra("-y", LAB_INVENTORY, "deploy.py")
    assert again.returncode == 0, again.output[-5000:]
    assert again.grand_total()["changed"] == "-", again.output[-5000:]

    healthy = run_pyinfra("-y", LAB_INVENTORY, "status.py")
    assert healthy.returncode == 0, healthy.output[-4000:]
    table = healthy.output.split("Storage pair fiori + torchio: HEALTHY", 1)[-1]
    assert table.count("Connected Primary/Primary UpToDate/UpToDate oos 0 KiB") == 4, healthy.output[-4000:]


def test_the_other_release_serves_nfs_and_both_nodes_rebooted_together_come_back_in_service(
    other_release_lab: str, other_converge: Run
) -> None:
    fiori, torchio, client = guest("fiori"), guest("torchio"), guest("client")
    client.check_output("mkdir -p /mnt/home-fiori /mnt/home-torchio")
    for name, address in (("fiori", "192.168.1.6"), ("torchio", "192.168.1.7")):
        client.check_output(
            f"mountpoint -q /mnt/home-{name} || mount -t nfs {NFS_OPTIONS} {address}:/vol/home /mnt/home-{name}"
        )
    client.check_output("head -c 1048576 /dev/urandom > /mnt/home-torchio/from-client && sync")
    written = client.check_output("sha256sum < /mnt/home-torchio/from-client")
    assert client.check_output("sha256sum < /mnt/home-fiori/from-client") == written
    for mount in ("/mnt/home-fiori", "/mnt/home-torchio"):
        client.check_output(f"umount {mount}")

    reboot("fiori", "torchio", timeout=BOTH_REBOOT_TIMEOUT_S)
    for node in (fiori, torchio):
        wait_for(node, HEALTHY, "2", timeout=300, every=3)
        wait_for(node, MOUNTED, "2", timeout=120, every=3)
        wait_for(node, IN_SERVICE, "active", timeout=120, every=3)
        assert node.check_output("sha256sum < /vol/home/from-client") == written
        exports = node.check_output("exportfs -s")
        assert re.search(r"^/vol/ocfs2-small/home\s+192\.168\.1\.0/24\(", exports, re.MULTILINE), exports
        assert "policy drop" in node.check_output("nft list table inet twinstore")
    client.check_output(f"mount -t nfs {NFS_OPTIONS} 192.168.1.6:/vol/home /mnt/home-fiori")
    try:
        assert client.check_output("sha256sum < /mnt/home-fiori/from-client") == written
    finally:
        client.check_output("umount /mnt/home-fiori")

    healthy = run_pyinfra("-y", LAB_INVENTORY, "status.py")
    assert healthy.returncode == 0, healthy.output[-4000:]
    assert "Storage pair fiori + torchio: HEALTHY" in healthy.output, healthy.output[-4000:]
