"""Scheduled verify on the lab: the converged pair verifies clean through the timer's own unit; a
block corrupted under DRBD on one node is found, the health report fails and names it with the
repair, and the repair brings the copies back together."""

from __future__ import annotations

import re

import pytest
import testinfra

from tests.e2e.conftest import CONVERGED, LAB_INVENTORY, run_pyinfra, wait_for
from tests.e2e.faults import measured, on_guest, restore, verify_out_of_sync
from tests.e2e.test_faults import in_service

pytestmark = pytest.mark.lab_scenario

STATE = "/var/lib/twinstore/verify"
FILE = "/vol/ocfs2-small/verify-probe"


def record(node: str, name: str) -> list[str]:
    return on_guest(node, f"cat {STATE}/{name}").split()


def first_block(node: str, path: str) -> int:
    """The 4 KiB block of the file's first extent on its device (OCFS2 on DRBD with internal
    metadata: the same offset on the backing volume)."""
    extents = on_guest(node, f"filefrag -v -b4096 {path}")
    found = re.search(r"^\s*0:\s+0\.\.\s*\d+:\s+(\d+)\.\.", extents, re.MULTILINE)
    assert found, extents
    return int(found.group(1))


def test_the_timer_verifies_a_corrupted_block_is_found_reported_and_repaired(
    converged_lab: None, fiori: testinfra.host.Host, torchio: testinfra.host.Host
) -> None:
    try:
        # The timer runs on the pair's first node only, on the configured schedule.
        assert fiori.check_output("systemctl is-enabled twinstore-verify.timer") == "enabled"
        assert fiori.check_output("systemctl is-active twinstore-verify.timer") == "active"
        assert "Sun *-*-* 03:00:00" in fiori.check_output("systemctl cat twinstore-verify.timer")
        assert torchio.run("systemctl is-enabled twinstore-verify.timer").stdout.strip() == "disabled"

        # A new pair verifies clean: the unit the timer starts, on every resource.
        fiori.check_output("systemctl start twinstore-verify.service")
        for name in ("drbd0", "drbd1"):
            start, end, result, oos = record("fiori", name)
            assert (result, oos) == ("done", "0"), (name, start, end, result, oos)
            assert record("fiori", f"{name}.done") == [start, end, result, oos]
            measured(f"scheduled verify of {name}", f"{int(end) - int(start)} s")

        # A file on the OCFS2 volume; one 4 KiB block of its data overwritten on torchio's backing
        # volume, underneath DRBD (as a failing disk or a stray write would).
        on_guest("fiori", f"head -c 1M /dev/urandom > {FILE} && sync")
        original = on_guest("fiori", f"sha256sum < {FILE}").split()[0]
        block = first_block("fiori", FILE)
        on_guest(
            "torchio",
            f"head -c 4096 /dev/urandom | dd of=/dev/vg0/rep-drbd0 bs=4096 seek={block + 1} oflag=direct "
            "conv=notrunc status=none",
        )

        # The verify finds exactly that block; the health report fails and names it with the repair.
        fiori.check_output("/usr/local/sbin/twinstore-verify drbd0")
        assert record("fiori", "drbd0")[2:] == ["done", "4"]
        report = run_pyinfra("-y", LAB_INVENTORY, "status.py")
        assert report.returncode != 0, report.output[-4000:]
        assert "NOT HEALTHY" in report.output
        assert "drbd0: the verify of" in report.output and "found 4 KiB (1 block(s) of 4 KiB)" in report.output, (
            report.output[-4000:]
        )
        assert "`systemctl restart twinstore-storage`" in report.output
        # And for the site's monitoring, in the next metrics file.
        fiori.check_output("/usr/local/sbin/twinstore-metrics")
        metrics = fiori.check_output("cat /var/lib/prometheus/node-exporter/twinstore.prom")
        assert 'twinstore_drbd_last_verify_out_of_sync_bytes{resource="drbd0"} 4096' in metrics, metrics
        assert 'twinstore_drbd_last_verify_out_of_sync_bytes{resource="drbd1"} 0' in metrics, metrics

        # The documented repair, on the node whose copy is wrong: out of service and back, and it
        # resyncs just the marked block from its peer.
        torchio.check_output("systemctl restart twinstore-storage")
        in_service(fiori, torchio)
        wait_for(torchio, "grep -c 'oos:0 *$' /proc/drbd", "2", timeout=120)
        offset = block * 4096
        assert verify_out_of_sync("fiori", 0, offset - 1024 * 1024, offset + 1024 * 1024) == 0
        assert on_guest("torchio", f"sha256sum < {FILE}").split()[0] == original
        assert on_guest("fiori", f"sha256sum < {FILE}").split()[0] == original
        healthy = run_pyinfra("-y", LAB_INVENTORY, "status.py")
        assert healthy.returncode == 0, healthy.output[-4000:]
        assert "done" in healthy.output and "4 KiB out of sync" in healthy.output, healthy.output[-4000:]
    finally:
        restore(CONVERGED)
