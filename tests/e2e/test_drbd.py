"""DRBD on the converged lab: zero resync, data across re-runs, a reboot, a split brain refused."""

from __future__ import annotations

import re

import testinfra

from tests.e2e.conftest import LAB_INVENTORY, Run, reboot, run_pyinfra, wait_for

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
    healthy = "grep -c 'cs:Connected ro:Primary/Primary ds:UpToDate/UpToDate' /proc/drbd"
    wait_for(torchio, healthy, "2", timeout=180, every=3)
    # The local ext4 volumes are back too.
    assert torchio.mount_point("/vol/rep-no").exists


def test_split_brain_is_refused_until_the_administrator_resolves_it(
    converge: Run, fiori: testinfra.host.Host, torchio: testinfra.host.Host
) -> None:
    read = "dd if=/dev/drbd1 bs=1M count=4 skip=40 iflag=direct status=none | sha256sum"
    # Cut drbd1's link while both nodes are Primary and write on both sides: each now holds
    # changes the other lacks, and reconnecting detects the split brain (after-sb-2pri disconnect).
    torchio.check_output("drbdadm disconnect drbd1")
    for node in (fiori, torchio):
        node.check_output("dd if=/dev/urandom of=/dev/drbd1 bs=1M count=4 seek=40 oflag=direct status=none")
    before = {node.backend.hostname: node.check_output(read) for node in (fiori, torchio)}
    assert before["fiori"] != before["torchio"]
    torchio.check_output("drbdadm connect drbd1")
    # Both sides run the handshake, detect the split brain and drop the connection.
    for node in (torchio, fiori):
        wait_for(node, "drbdadm cstate drbd1", "StandAlone")
    assert torchio.run("dmesg | grep -q 'drbd1: Split-Brain detected'").rc == 0

    refused = run_pyinfra("-y", LAB_INVENTORY, "deploy.py")
    assert refused.returncode == 2, refused.output[-3000:]
    # One problem that names what each node has.
    assert re.search(r"drbd1 on (fiori|torchio) is StandAlone and the kernel reported a split brain", refused.output), (
        refused.output[-3000:]
    )
    assert re.search(r"fiori: StandAlone Primary/\S+ UpToDate/DUnknown, out of sync [1-9]", refused.output)
    assert re.search(r"torchio: StandAlone Primary/\S+ UpToDate/DUnknown, out of sync [1-9]", refused.output)
    assert "twinstore never discards data by itself" in refused.output
    # Nothing was touched: both sides keep their own changes, and drbd0 is still healthy.
    assert {node.backend.hostname: node.check_output(read) for node in (fiori, torchio)} == before
    assert torchio.check_output("drbdadm cstate drbd1") == "StandAlone"
    assert "cs:Connected ro:Primary/Primary ds:UpToDate/UpToDate" in proc_drbd(torchio).splitlines()[2]

    # The administrator decides torchio's changes go, and says so to DRBD by hand.
    torchio.check_output("drbdadm secondary drbd1 && drbdadm connect --discard-my-data drbd1")
    if fiori.check_output("drbdadm cstate drbd1") == "StandAlone":
        fiori.check_output("drbdadm connect drbd1")
    wait_for(torchio, "drbdadm dstate drbd1", "UpToDate/UpToDate")
    resumed = run_pyinfra("-y", LAB_INVENTORY, "deploy.py")
    assert resumed.returncode == 0, resumed.output[-3000:]
    assert "Promote drbd1" in resumed.output
    for node in (fiori, torchio):
        assert proc_drbd(node).count("cs:Connected ro:Primary/Primary ds:UpToDate/UpToDate") == 2
        assert node.check_output(read) == before["fiori"]
