"""Fencing on the lab: a pulled replication cable costs no acknowledged write and no split brain.

The lab's BMCs (lab/bmc.py) answer Redfish over each guest's management network; the deploy
gives each node its peer's device, and DRBD's fence-peer handler drives the real fence_redfish.
"""

from __future__ import annotations

import time

import pytest
import testinfra

from lab.bmc import log_file
from lab.machines import guest_pid
from lab.settings import guest
from tests.e2e.conftest import run_lab, wait_until
from tests.e2e.faults import AckWriter, longest_gap, missing_on, power_on
from tests.e2e.test_faults import in_service, measured, no_split_brain
from tests.e2e.test_metrics import scrape, write_now

pytestmark = pytest.mark.lab_scenario


def bmc_actions() -> list[list[str]]:
    """Every power action the lab's BMCs took so far: [guest, action]."""
    try:
        lines = log_file().read_text().splitlines()
    except FileNotFoundError:
        return []
    return [line.split()[1:] for line in lines]


def test_a_pulled_replication_cable_fences_one_node_and_every_acknowledged_write_survives(
    converged_lab: None, client: testinfra.host.Host, fiori: testinfra.host.Host, torchio: testinfra.host.Host
) -> None:
    assert "fencing resource-and-stonith;" in fiori.check_output("cat /etc/drbd.d/global_common.conf")
    device = fiori.file("/etc/twinstore/fence-peer")
    assert device.mode == 0o600 and device.user == "root"
    earlier = len(bmc_actions())
    writer = AckWriter()
    writer.start()
    writer.wait_for_more(10)
    # Replication runs over the LAN in the lab's configuration: torchio's LAN cable is its link.
    # Both nodes are Primary and both take writes; fiori (the lower o2cb number) fences at once.
    cut = time.time()
    run_lab("cable", "torchio", "lan", "down")
    wait_until(lambda: guest_pid(guest("torchio")) is None, timeout=300)
    fenced = time.time()
    measured("replication cable pulled until the peer was powered off", f"{fenced - cut:.0f} s")
    # Exactly one node was powered off, by its BMC: torchio, once.
    assert bmc_actions()[earlier:] == [["torchio", "ForceOff"]]
    journal = fiori.check_output("journalctl -q -t twinstore-fence-peer --no-pager")
    assert "fenced torchio: fence_redfish confirmed it is off (Success: Powered OFF); this node goes on" in journal
    assert fiori.check_output("cut -d' ' -f2,3 /var/lib/twinstore/fence-peer.last") == "fenced torchio"
    # fiori goes on serving alone.
    writer.wait_for_more(15, through="fiori")
    stall = longest_gap(writer.acked_through("fiori"), after=cut)
    measured("longest wait for an acknowledged write through the survivor after the cable was pulled", f"{stall:.0f} s")
    # The site's monitoring sees the lost connection on the survivor, which stays Primary.
    write_now(fiori)
    samples = scrape(client, "fiori")
    assert samples["twinstore_drbd_connected"] == {"resource=drbd0": 0.0, "resource=drbd1": 0.0}
    assert samples["twinstore_drbd_primary"] == {"resource=drbd0": 1.0, "resource=drbd1": 1.0}
    info = samples["twinstore_drbd_state_info"]
    assert all("peer_disk_state=Outdated" in labels for labels in info), info

    # torchio is powered on again (a new boot: the pulled cable is plugged in on a fresh start).
    power_on("torchio")
    in_service(fiori, torchio)
    acks = writer.stop()
    after_cut = [ack for ack in acks if ack.when > cut]
    assert len(after_cut) >= 15
    assert missing_on("fiori", writer, acks) == []
    assert missing_on("torchio", writer, acks) == []
    no_split_brain(fiori, torchio)
    # torchio fenced no one.
    assert bmc_actions()[earlier:] == [["torchio", "ForceOff"]]
