"""The health report on the lab: one table for the pair, and a non-zero exit when it is not healthy."""

from __future__ import annotations

import testinfra

from tests.e2e.conftest import LAB_INVENTORY, Run, run_pyinfra, wait_for
from tests.helpers import lab_storage_value


def test_a_converged_pair_is_reported_healthy_and_an_unexported_path_is_not(
    converge: Run, torchio: testinfra.host.Host
) -> None:
    healthy = run_pyinfra("-y", LAB_INVENTORY, "status.py")
    assert healthy.returncode == 0, healthy.output[-4000:]
    assert "Storage pair fiori + torchio: HEALTHY" in healthy.output, healthy.output[-4000:]
    table = healthy.output.split("Storage pair fiori + torchio: HEALTHY", 1)[1]
    for row in ("DRBD drbd0", "DRBD drbd1", "o2cb", "/vol/rep-no", "/vol/ocfs2-large", "exports", "unison"):
        assert row in table, table[:3000]
    assert table.count("Connected Primary/Primary UpToDate/UpToDate oos 0 KiB") == 4, table[:3000]
    assert "last sync" in table and "ago, ok" in table
    # Volumes twinstore made carry no quota accounting, so the report notes none.
    assert "quota accounting" not in table, table[:3000]
    relay = lab_storage_value("mail_relay")
    assert f"notifications: mailed to root through the relay {relay}" in table

    # Without a relay, the report says that a split brain would be noticed by no one.
    silent = run_pyinfra("-y", "--data", "mail_relay=null", LAB_INVENTORY, "status.py")
    assert silent.returncode == 0, silent.output[-4000:]
    assert "notifications: GO NOWHERE: no mail_relay is configured" in silent.output, silent.output[-4000:]

    # Unexported for the client network only: still exported to the lab's trusted client.
    torchio.check_output("exportfs -u 192.168.1.0/24:/vol/rep-unison/pub")
    try:
        unhealthy = run_pyinfra("-y", LAB_INVENTORY, "status.py")
    finally:
        torchio.check_output("exportfs -ra")
    assert unhealthy.returncode != 0, unhealthy.output[-4000:]
    assert "NOT HEALTHY" in unhealthy.output, unhealthy.output[-4000:]
    assert "torchio: /vol/pub is not exported to 192.168.1.0/24" in unhealthy.output, unhealthy.output[-4000:]
    assert "/vol/rep-unison/pub" in torchio.check_output("exportfs -s")


def tune_unmounted(nodes: tuple[testinfra.host.Host, ...], features: str) -> None:
    """tunefs.ocfs2 --fs-features on ocfs2-large, unmounted on every node meanwhile (it refuses otherwise)."""
    for node in nodes:
        node.check_output("umount /vol/ocfs2-large")
    try:
        nodes[0].check_output(f"tunefs.ocfs2 --fs-features={features} /dev/drbd1 </dev/null")
    finally:
        for node in nodes:
            node.check_output("mount /vol/ocfs2-large")


def test_a_volume_with_ocfs2_quota_accounting_is_noted_and_the_readmes_way_out_turns_it_off(
    converge: Run, fiori: testinfra.host.Host, torchio: testinfra.host.Host
) -> None:
    # A volume made with the procedure's own mkfs (max-features, quotas on), as on a pair
    # converged before twinstore left quota accounting out: turned on here the way it is
    # turned off, unmounted on both nodes (the README's steps).
    nodes = (fiori, torchio)
    query = "tunefs.ocfs2 -Q '%O' /dev/drbd1"
    assert "quota" not in fiori.check_output(query)
    tune_unmounted(nodes, "usrquota,grpquota")
    assert fiori.check_output(query).split() == ["unwritten", "usrquota", "grpquota"]
    noted = run_pyinfra("-y", LAB_INVENTORY, "status.py")
    assert noted.returncode == 0, noted.output[-4000:]
    assert "HEALTHY" in noted.output and "NOT HEALTHY" not in noted.output, noted.output[-4000:]
    assert "quota accounting: ON on /vol/ocfs2-large (" in noted.output, noted.output[-4000:]
    assert "/vol/ocfs2-small" not in noted.output.split("quota accounting: ON on", 1)[1].splitlines()[0]

    tune_unmounted(nodes, "nousrquota,nogrpquota")
    for node in nodes:
        wait_for(node, "grep -c ' /vol/ocfs2-large ocfs2 ' /proc/mounts", "1")
        assert node.check_output(query).split() == ["unwritten"]
    clean = run_pyinfra("-y", LAB_INVENTORY, "status.py")
    assert clean.returncode == 0, clean.output[-4000:]
    assert "quota accounting" not in clean.output, clean.output[-4000:]
