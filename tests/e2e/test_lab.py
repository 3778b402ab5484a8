"""The lab itself and the deploy through the real CLI: dry run, converge, idempotent re-run, down."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest
import testinfra

from lab import image
from lab.machines import lab_qemu_pids
from tests.e2e.conftest import LAB_INVENTORY, DryRun, Run, run_lab, run_pyinfra


def test_the_three_guests_are_up_and_reachable(
    fiori: testinfra.host.Host, torchio: testinfra.host.Host, client: testinfra.host.Host
) -> None:
    assert fiori.check_output("hostname") == "fiori"
    assert torchio.check_output("hostname") == "torchio"
    assert client.check_output("hostname") == "client"
    # The LAN carries the real inventory's addresses.
    assert fiori.run("ping -c1 -W5 192.168.1.7").rc == 0
    assert client.run("ping -c1 -W5 192.168.1.6").rc == 0
    # Each storage guest has its data disk for vg0, at least 12 GiB.
    assert int(fiori.check_output("blockdev --getsize64 /dev/vdb")) >= 12 * 1024**3
    # The lab's guests run without address space randomization (lab/machines.py says why).
    for node in (fiori, torchio, client):
        assert node.check_output("cat /proc/sys/kernel/randomize_va_space") == "0"


def test_guests_install_only_from_the_local_repository(fiori: testinfra.host.Host) -> None:
    sources = fiori.check_output("cat /etc/apt/sources.list; ls /etc/apt/sources.list.d")
    assert sources.strip() == "deb [trusted=yes] file:/srv/lab-repo ./"


def test_facts_are_gathered_from_all_three_guests(lab: None) -> None:
    run = run_pyinfra(LAB_INVENTORY, "fact", "server.Hostname", "server.LinuxDistribution")
    assert run.returncode == 0, run.output[-3000:]
    # pyinfra prints one JSON object per fact: {host: value}.
    facts = {
        name: json.loads(body)
        for name, body in re.findall(r"--> Fact data for: (\S+)\n(\{.*?\n\})", run.output, re.DOTALL)
    }
    assert facts["server.Hostname"] == {"fiori": "fiori", "torchio": "torchio", "client": "client"}
    major = image.RELEASES[image.release()]
    assert {host: value["major"] for host, value in facts["server.LinuxDistribution"].items()} == {
        "fiori": major,
        "torchio": major,
        "client": major,
    }


def test_dry_run_on_a_fresh_lab_plans_changes_and_makes_none(
    dry_run_on_fresh_lab: DryRun,
) -> None:
    run = dry_run_on_fresh_lab.run
    assert run.returncode == 0, run.output[-3000:]
    planned = run.planned_changes()
    assert planned["LVM volume group and logical volumes | Volume group vg0"] == "2 (fiori, torchio)"
    assert planned["ext4 volumes | ext4 on vg0/rep-no"] == "2 (fiori, torchio)"
    # One package operation for every host, all installing at once. The lab's role images carry
    # all but bsd-mailx (lab/image.py), so only the storage nodes install; all three from plain Debian.
    if image.preinstalled():
        assert planned["Packages"] == "2 (fiori, torchio)", planned
    else:
        assert planned["Packages"].startswith("3 ("), planned
    # Nothing happened: no mailer installed, no sysctl file, nothing on the data disk.
    assert not dry_run_on_fresh_lab.mailer_installed
    assert not dry_run_on_fresh_lab.sysctl_file_exists
    assert dry_run_on_fresh_lab.data_disk_blkid_status == 2


# Issue 10's budget for a no-op run was 40 round trips to each storage node (it was 91); the
# deploy now needs two on each host: pyinfra's connection probe (uname) and the one read of
# every fact that deploy.py sends before any operation (on a storage node it answers first
# whether DRBD I/O is frozen, and stops there if it is: operations/fencing.py). One more means
# some operation reads a fact the shared read does not cover.
NOOP_COMMANDS_PER_HOST = {"fiori": 2, "torchio": 2, "client": 2}


def test_second_converge_with_files_on_every_volume_changes_nothing(
    converge: Run, fiori: testinfra.host.Host, torchio: testinfra.host.Host, tmp_path: Path
) -> None:
    paths = ["/vol/scratch", "/vol/pub", "/vol/home", "/vol/mail", "/vol/wikis", "/vol/svn", "/vol/vmpool1"]
    for node in (fiori, torchio):
        node.check_output(f"head -c 4194304 /dev/urandom > /vol/scratch/canary-{node.backend.hostname}")
    for path in paths:
        fiori.check_output(f"head -c 4194304 /dev/urandom > {path}/rerun-canary")
    fiori.check_output("sync")
    checksum = "sha256sum " + " ".join(f"{path}/rerun-canary" for path in paths)
    before = fiori.check_output(checksum)
    local = {node: node.check_output("sha256sum /vol/scratch/canary-*") for node in (fiori, torchio)}
    counts = tmp_path / "commands.json"
    second = run_pyinfra("-y", LAB_INVENTORY, "deploy.py", count_commands_to=counts)
    assert second.returncode == 0, second.output[-3000:]
    totals = second.grand_total()
    assert totals["changed"] == "-" and totals["error"] == "-", second.output[-4000:]
    # Counted by machine-independent round trips, not by time (timings live in bench/).
    commands = json.loads(counts.read_text())["commands"]
    for name, budget in NOOP_COMMANDS_PER_HOST.items():
        assert 0 < commands[name] <= budget, commands
    assert fiori.check_output(checksum) == before
    for node, checksums in local.items():
        assert node.check_output("sha256sum /vol/scratch/canary-*") == checksums
    # The OCFS2 volumes are one file system on both nodes.
    shared = "sha256sum " + " ".join(f"{path}/rerun-canary" for path in ("/vol/home", "/vol/svn", "/vol/vmpool1"))
    assert torchio.check_output(shared) == fiori.check_output(shared)


def test_dry_run_on_a_converged_lab_plans_nothing(converge: Run, tmp_path: Path) -> None:
    counts = tmp_path / "commands.json"
    run = run_pyinfra("--dry", LAB_INVENTORY, "deploy.py", count_commands_to=counts)
    assert run.returncode == 0, run.output[-3000:]
    assert run.planned_changes() == {}
    # No slower than a no-op: the same round trips (a --dry plans operations whose _if the run
    # would check only when executing, and reads what they read).
    commands = json.loads(counts.read_text())["commands"]
    for name, budget in NOOP_COMMANDS_PER_HOST.items():
        assert 0 < commands[name] <= budget, commands


BULLSEYE = (
    'PRETTY_NAME="Debian GNU/Linux 11 (bullseye)"\n'
    'NAME="Debian GNU/Linux"\nVERSION_ID="11"\nVERSION_CODENAME=bullseye\nID=debian\n'
)


def test_a_node_on_a_release_the_deploy_is_not_tested_on_is_refused_before_any_change(
    converge: Run, torchio: testinfra.host.Host
) -> None:
    # torchio's /etc/os-release says Debian 11 for the length of one deploy.
    real = torchio.check_output("cat /etc/os-release")
    torchio.check_output(f"printf %s {shlex.quote(BULLSEYE)} > /run/os-release.test")
    torchio.check_output("mount --bind /run/os-release.test /etc/os-release")
    try:
        refused = run_pyinfra("-y", LAB_INVENTORY, "deploy.py")
    finally:
        torchio.check_output("umount /etc/os-release && rm /run/os-release.test")
    assert refused.returncode == 2, refused.output[-3000:]
    assert (
        "torchio: operating system = Debian 11 (bullseye): "
        "twinstore runs on Debian 12 (bookworm) and Debian 13 (trixie) only" in refused.output
    ), refused.output[-3000:]
    assert "nothing was touched" in refused.output
    # Stopped while planning: no operation ran on any host.
    assert "Starting operation" not in refused.output, refused.output[-3000:]
    assert torchio.check_output("cat /etc/os-release") == real


@pytest.mark.lab_down
def test_lab_down_leaves_no_qemu_process(lab: None) -> None:
    assert lab_qemu_pids(), "the lab was not running before `lab down`"
    run_lab("down")
    assert lab_qemu_pids() == []
