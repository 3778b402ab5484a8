"""DRBD on the converged lab: a new pair with zero resync, and data kept across re-runs."""

from __future__ import annotations

import re
import time

import testinfra

from tests.e2e.conftest import LAB_INVENTORY, Run, reboot, run_pyinfra

RESOURCES = ("drbd0", "drbd1")


def proc_drbd(node: testinfra.host.Host) -> str:
    return str(node.check_output("cat /proc/drbd"))


def test_new_pair_is_primary_primary_up_to_date_with_zero_resync(
    converge: Run, fiori: testinfra.host.Host, torchio: testinfra.host.Host
) -> None:
    # Nothing has written to the DRBD devices yet, so every byte sent or received by
    # either node would be resync traffic: there must be none.
    for node in (fiori, torchio):
        state = proc_drbd(node)
        for minor in (0, 1):
            assert re.search(
                rf"^ {minor}: cs:Connected ro:Primary/Primary ds:UpToDate/UpToDate C", state, re.MULTILINE
            ), state
        assert re.findall(r"\bns:(\d+) nr:(\d+)", state) == [("0", "0"), ("0", "0")], state
        assert node.run("dmesg | grep -q 'Began resync'").rc == 1


def test_drbd_files_and_boot(converge: Run, fiori: testinfra.host.Host) -> None:
    common = fiori.file("/etc/drbd.d/global_common.conf").content_string
    assert "wfc-timeout 120;" in common
    assert "ping-int 30;" in common and "ping-timeout 60;" in common
    drbd0 = fiori.file("/etc/drbd.d/drbd0.res").content_string
    for line in (
        "protocol C;",
        "allow-two-primaries;",
        "after-sb-0pri discard-zero-changes;",
        "after-sb-1pri discard-secondary;",
        "after-sb-2pri disconnect;",
        "disk /dev/mapper/vg0-rep--drbd0;",
        "address 192.168.1.6:7790;",
        "address 192.168.1.7:7790;",
        "shared-secret",
    ):
        assert line in drbd0
    assert fiori.service("drbd").is_enabled


def test_data_on_drbd_survives_a_rerun_and_is_replicated(
    converge: Run, fiori: testinfra.host.Host, torchio: testinfra.host.Host
) -> None:
    write = "dd if=/dev/urandom of=/dev/drbd0 bs=1M count=16 seek=64 oflag=direct status=none"
    read = "dd if=/dev/{} bs=1M count=16 skip=64 iflag=direct status=none | sha256sum"
    fiori.check_output(write)
    written = fiori.check_output(read.format("drbd0"))
    assert torchio.check_output(read.format("drbd0")) == written
    rerun = run_pyinfra("-y", LAB_INVENTORY, "deploy.py")
    assert rerun.returncode == 0, rerun.output[-3000:]
    assert rerun.grand_total()["changed"] == "-", rerun.output[-4000:]
    for node in (fiori, torchio):
        assert node.check_output(read.format("drbd0")) == written


def test_a_rebooted_node_comes_back_connected_and_primary(converge: Run, torchio: testinfra.host.Host) -> None:
    reboot("torchio")
    # drbd.service waits for the peer (wfc-timeout) and promotes (become-primary-on both).
    deadline = time.monotonic() + 180
    state = ""
    while time.monotonic() < deadline:
        state = proc_drbd(torchio) if torchio.run("test -r /proc/drbd").rc == 0 else ""
        if state.count("cs:Connected ro:Primary/Primary ds:UpToDate/UpToDate") == 2:
            break
        time.sleep(3)
    assert state.count("cs:Connected ro:Primary/Primary ds:UpToDate/UpToDate") == 2, state
    # The local ext4 volumes are back too.
    assert torchio.mount_point("/vol/rep-no").exists
