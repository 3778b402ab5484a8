"""Online grow: larger volumes in group_data grow the pair while a client writes through both
nodes, previewed with --dry, refused when a node is left out, finished with nothing lost; a node
hard-reset right after a resize (and so fenced by its peer) comes back at the new size and
reconnects."""

from __future__ import annotations

import json
import time

import testinfra

from lab.machines import guest_pid
from lab.settings import guest as lab_guest
from tests.e2e.conftest import CONVERGED, LAB_INVENTORY, run_lab, run_pyinfra, wait_for, wait_until
from tests.e2e.faults import (
    RUN_DIR,
    AckWriter,
    bmc_actions,
    measured,
    missing_on,
    no_split_brain,
    on_guest,
    power_on,
    restore,
    verify_out_of_sync,
)
from tests.e2e.test_faults import in_service
from tests.helpers import lab_storage_value

MIB = 1024**2
# The lab's sizes (lab/group_data/storage.py) and one grow of each: rep-no is ext4 on each node
# alone, rep-drbd0 and rep-drbd1 back the OCFS2 volumes.
GROWN = {"rep-no": "1088M", "rep-drbd0": "1088M", "rep-drbd1": "2176M"}
AGAIN = {**GROWN, "rep-drbd0": "1152M"}
MOUNTS = {"rep-no": "/vol/rep-no", "rep-drbd0": "/vol/ocfs2-small", "rep-drbd1": "/vol/ocfs2-large"}
MINORS = {"rep-drbd0": 0, "rep-drbd1": 1}
HEALTHY = "grep -c 'cs:Connected ro:Primary/Primary ds:UpToDate/UpToDate' /proc/drbd"
FENCED = "grep -cE 'cs:WFConnection ro:Primary/Unknown ds:UpToDate/(Outdated|Inconsistent) C r' /proc/drbd"


def sizes(grown: dict[str, str]) -> tuple[str, str]:
    volumes = lab_storage_value("logical_volumes")
    for name, size in grown.items():
        volumes[name]["size"] = size
    return ("--data", f"logical_volumes={json.dumps(volumes)}")


def df_bytes(node: testinfra.host.Host) -> dict[str, int]:
    return {name: int(node.check_output(f"df -B1 --output=size {mount} | tail -1")) for name, mount in MOUNTS.items()}


def drbd_bytes(node: testinfra.host.Host) -> dict[str, int]:
    return {name: int(node.check_output(f"cat /sys/block/drbd{minor}/size")) * 512 for name, minor in MINORS.items()}


def came_back(node: testinfra.host.Host) -> int:
    """How many of the node's fence-peer handlers found the peer back before powering it off."""
    return int(node.check_output("journalctl -q -t twinstore-fence-peer --no-pager | grep -c 'came back' || true"))


def files_sum(node: str) -> str:
    return on_guest(node, "cd /vol && find rep-no/grow ocfs2-large/grow -type f | sort | xargs sha256sum")


def test_volumes_grow_online_while_a_client_writes_and_a_node_reset_after_the_resize_reconnects(
    converged_lab: None, fiori: testinfra.host.Host, torchio: testinfra.host.Host
) -> None:
    try:
        before = {"fiori": df_bytes(fiori), "drbd": drbd_bytes(fiori)}
        # Files written before the grow, on the ext4 volume of each node and on the OCFS2 volume.
        for node in ("fiori", "torchio"):
            on_guest(node, "mkdir -p /vol/rep-no/grow && head -c 8M /dev/urandom > /vol/rep-no/grow/before")
        on_guest("fiori", "mkdir -p /vol/ocfs2-large/grow && head -c 8M /dev/urandom > /vol/ocfs2-large/grow/before")
        sums = {node: files_sum(node) for node in ("fiori", "torchio")}

        # The preview lists each step on each node: the volumes on both, DRBD and OCFS2 once.
        dry = run_pyinfra("--dry", LAB_INVENTORY, "deploy.py", *sizes(GROWN))
        assert dry.returncode == 0, dry.output[-3000:]
        planned = dry.planned_changes()
        for volume, size in GROWN.items():
            assert planned.get(f"LVM volume group and logical volumes | Logical volume vg0/{volume} ({size})") == (
                "2 (fiori, torchio)"
            ), planned
        assert planned.get("ext4 volumes | Grow ext4 on vg0/rep-no to fill it") == "2 (fiori, torchio)", planned
        for resource, label in (("drbd0", "ocfs2-small"), ("drbd1", "ocfs2-large")):
            assert planned.get(f"DRBD resources | Grow {resource} to its grown backing volumes") == "1 (fiori)", planned
            assert planned.get(f"OCFS2 cluster and file systems | Grow OCFS2 {label} to fill /dev/{resource}") == (
                "1 (fiori)"
            ), planned
        assert df_bytes(fiori) == before["fiori"], "the preview changed something"

        # One node left out: refused before any change, by name.
        limited = run_pyinfra("-y", "--limit", "fiori", LAB_INVENTORY, "deploy.py", *sizes(GROWN))
        assert limited.returncode != 0
        assert "needs both nodes in the run, and torchio is not in this run (--limit)" in limited.output, (
            limited.output[-3000:]
        )
        assert on_guest("fiori", "lvs --noheadings --units b --nosuffix -o lv_size vg0/rep-drbd0").strip() == str(
            1024 * MIB
        )

        writer = AckWriter()
        writer.start()
        writer.wait_for_more(10)
        started = time.monotonic()
        grow = run_pyinfra("-y", LAB_INVENTORY, "deploy.py", *sizes(GROWN))
        assert grow.returncode == 0, grow.output[-5000:]
        measured(
            "deploy that grew rep-no, rep-drbd0 and rep-drbd1 by 64 MiB each", f"{time.monotonic() - started:.0f} s"
        )
        writer.wait_for_more(10, through="fiori")
        writer.wait_for_more(10, through="torchio")
        acks = writer.stop()
        assert on_guest("client", f"cat {RUN_DIR}/failed 2>/dev/null || true") == "", "a write failed during the grow"

        after = {node: df_bytes(host) for node, host in (("fiori", fiori), ("torchio", torchio))}
        assert after["fiori"] == after["torchio"]
        for name in GROWN:
            assert after["fiori"][name] >= before["fiori"][name] + 60 * MIB, (name, before, after)
        grown_drbd = drbd_bytes(fiori)
        assert grown_drbd == drbd_bytes(torchio)
        for node in (fiori, torchio):
            wait_for(node, HEALTHY, "2")
        # The new space was not resynced but written with zeros through DRBD: the same on both
        # nodes, as DRBD's own verify of just that range finds (the file system already uses it, so
        # only DRBD can compare the two copies while they change).
        for name, minor in MINORS.items():
            start, end = before["drbd"][name], grown_drbd[name]
            assert verify_out_of_sync("fiori", minor, start, end) == 0, name
        assert missing_on("fiori", writer, acks) == []
        assert missing_on("torchio", writer, acks) == []
        assert {node: files_sum(node) for node in ("fiori", "torchio")} == sums

        again = run_pyinfra("-y", LAB_INVENTORY, "deploy.py", *sizes(GROWN))
        assert again.returncode == 0, again.output[-3000:]
        assert again.grand_total()["changed"] == "-", again.output[-3000:]

        # Grown once more, then torchio is hard-reset right after: DRBD moved its metadata to the
        # volume's new end, and torchio must find it there when it attaches at boot.
        more = run_pyinfra("-y", LAB_INVENTORY, "deploy.py", *sizes(AGAIN))
        assert more.returncode == 0, more.output[-3000:]
        earlier = len(bmc_actions())
        run_lab("reset-button", "torchio")
        # fiori saw its peer vanish while both were Primary, and fences it: powered off, as a
        # node that went away at once is, once for both resources (both go on, I/O running).
        # Unless torchio rebooted and reconnected before the power-off (its agent is slow when
        # the lab's host is busy): then it serves again and fiori's handler leaves it be
        # (tests/e2e/test_faults.py proves that case on purpose). Either way torchio attached
        # its grown disk at boot.
        wait_until(lambda: guest_pid(lab_guest("torchio")) is None or came_back(fiori) == 2, timeout=300)
        if guest_pid(lab_guest("torchio")) is None:
            # A resource torchio was resyncing when it went off keeps it Inconsistent.
            wait_for(fiori, FENCED, "2", timeout=120)
            assert bmc_actions()[earlier:] == [["torchio", "ForceOff"]]
            power_on("torchio")
        else:
            assert bmc_actions()[earlier:] == []
        in_service(fiori, torchio)
        assert drbd_bytes(torchio) == drbd_bytes(fiori)
        assert drbd_bytes(torchio)["rep-drbd0"] > grown_drbd["rep-drbd0"]
        assert df_bytes(torchio)["rep-drbd0"] == df_bytes(fiori)["rep-drbd0"]
        no_split_brain(fiori, torchio)
        settled = run_pyinfra("-y", LAB_INVENTORY, "deploy.py", *sizes(AGAIN))
        assert settled.returncode == 0, settled.output[-3000:]
        assert settled.grand_total()["changed"] == "-", settled.output[-3000:]
    finally:
        # Later scenarios start from the lab's configured sizes.
        restore(CONVERGED)
