"""The rolling upgrade of a serving pair from Debian 12 to 13 on the lab, end to end (scripts/upgrade).

Too long for CI's time limit under TCG (each node's upgrade is a full-upgrade of hundreds of
packages), so it runs on its own and records its result in bench/results/upgrade-*.json.

A lab of its own (beside the suite's, sharing its images): Debian 12 guests converged by the
deploy; the client writes through both nodes for the whole upgrade (tests/e2e/guest/ack_writer.py);
the Debian 13 packages come from the client as the site's install server (apt_sources), signed.
For each node in turn: the upgrade refused while the run includes both nodes, previewed with
--dry, run with `--limit NODE --data upgrade_to=trixie` (out of service, upgraded, rebooted into
13, back and resynced), then a plain deploy of that node on its new release. At the end: both
nodes run Debian 13 and its kernel, Connected Primary/Primary UpToDate, no split brain, every
acknowledged write is on both nodes, and a run of the whole deploy changes nothing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lab.settings import lab_dir, ssh_port_base  # noqa: E402


def own_lab_environment() -> None:
    """A lab directory and ports of its own, sharing the default lab's images, key and secrets."""
    shared = lab_dir()
    os.environ.setdefault("TWINSTORE_LAB_SHARED", str(shared))
    os.environ.setdefault("TWINSTORE_LAB_DIR", f"{shared}-upgrade")
    os.environ.setdefault("TWINSTORE_LAB_SSH_PORT", str(ssh_port_base() + 30))
    os.environ["TWINSTORE_LAB_RELEASE"] = "bookworm"


own_lab_environment()

from noop import RESULTS, commit, machine  # noqa: E402

from lab import upgrade  # noqa: E402
from lab.machines import running_guests  # noqa: E402
from lab.settings import GUESTS  # noqa: E402
from tests.e2e.conftest import LAB_INVENTORY, guest, mirror_indexes_command, run_lab, run_pyinfra  # noqa: E402
from tests.e2e.faults import AckWriter, missing_on, no_split_brain  # noqa: E402

NODES = ("fiori", "torchio")
CLIENT_ADDRESS = next(each.lan_address for each in GUESTS if each.name == "client")
MIRROR_URI = f"http://{CLIENT_ADDRESS}:8081/debian"
SUITES = (upgrade.TO_RELEASE, f"{upgrade.TO_RELEASE}-updates")
KEY_FILE = "/etc/apt/trusted.gpg.d/twinstore-upgrade-mirror.asc"
APT_SOURCES = ("--data", "apt_sources=" + json.dumps([{"uri": MIRROR_URI, "components": ["main"]}]))
UPGRADE = ("--data", f"upgrade_to={upgrade.TO_RELEASE}")
HEALTHY = "cs:Connected ro:Primary/Primary ds:UpToDate/UpToDate"


phases: dict[str, float] = {}


def phase(name: str, started: float) -> None:
    phases[name] = round(time.monotonic() - started, 1)
    print(f"upgrade: {name}: {phases[name]:.0f} s", flush=True)


def ssh(name: str, command: str, stdin: bytes | None = None) -> str:
    from lab.machines import ssh_command

    result = subprocess.run(ssh_command(name, command), input=stdin, capture_output=True, check=True, timeout=1800)
    return result.stdout.decode()


def serve_mirror(repo: Path) -> str:
    """The upgrade's packages on the client, as a signed Debian mirror; return its public key."""
    tar = subprocess.run(["tar", "-C", str(repo), "-cf", "-", "."], capture_output=True, check=True).stdout
    ssh(
        "client",
        "rm -rf /srv/upgrade && mkdir -p /srv/upgrade/debian/pool && tar -C /srv/upgrade/debian/pool -xf -",
        tar,
    )
    indexes = mirror_indexes_command(
        "/srv/upgrade/debian", "/srv/upgrade/debian/pool/Packages", upgrade.TO_RELEASE, SUITES
    )
    ssh("client", indexes)
    with tempfile.TemporaryDirectory(prefix="gpg", dir="/tmp") as home:
        gpg = ["gpg", "--homedir", home, "--batch", "--quiet", "--pinentry-mode", "loopback", "--passphrase", ""]
        subprocess.run(
            [*gpg, "--quick-gen-key", "twinstore lab upgrade mirror", "ed25519", "sign", "never"], check=True
        )
        for suite in SUITES:
            text = ssh("client", f"cat /srv/upgrade/debian/dists/{suite}/Release")
            signed = subprocess.run([*gpg, "--clearsign"], input=text, capture_output=True, text=True, check=True)
            ssh("client", f"cat > /srv/upgrade/debian/dists/{suite}/InRelease", signed.stdout.encode())
        key = subprocess.run([*gpg, "--armor", "--export"], capture_output=True, text=True, check=True).stdout
        subprocess.run(["gpgconf", "--homedir", home, "--kill", "gpg-agent"], check=False)
    ssh(
        "client",
        f"setsid python3 -m http.server 8081 --bind {CLIENT_ADDRESS} --directory /srv/upgrade"
        " </dev/null >/tmp/twinstore-upgrade-mirror.log 2>&1 &",
    )
    return key


# The lab's system disks are 4 GiB (lab/image.py), a real server's far larger: a full upgrade of a
# Debian 12 storage node unpacks more than the 1.5 GiB left, so each storage guest's grows first,
# live (QMP block_resize, then resize2fs on the mounted root).
ROOT_DISK_BYTES = 8 * 1024**3


def grow_root_disk(node: str) -> None:
    from lab import qmp

    (machine_guest,) = running_guests([node])
    blocks = qmp.execute(machine_guest, "query-block")
    device = next(
        block["device"]
        for block in blocks
        if block.get("inserted", {}).get("file", "").endswith(machine_guest.root_disk.name)
    )
    qmp.execute(machine_guest, "block_resize", {"device": device, "size": ROOT_DISK_BYTES})
    ssh(node, "resize2fs /dev/vda >/dev/null 2>&1")
    assert int(ssh(node, "df --output=size -B1G / | tail -1").strip()) >= 7, ssh(node, "df -h /")


def upgrade_node(node: str, peer: str, writer: AckWriter, key: str) -> None:
    sources_before = ssh(node, "cat /etc/apt/sources.list")
    if node == NODES[0]:
        started = time.monotonic()
        refused = run_pyinfra("-y", *UPGRADE, *APT_SOURCES, LAB_INVENTORY, "deploy.py")
        assert refused.returncode != 0, refused.output[-3000:]
        assert "upgrades one node while its peer serves" in refused.output, refused.output[-3000:]
        assert ssh(node, "cat /etc/apt/sources.list") == sources_before
        phase("refused with both nodes in the run", started)

    started = time.monotonic()
    preview = run_pyinfra("--dry", "--limit", node, *UPGRADE, *APT_SOURCES, LAB_INVENTORY, "deploy.py")
    assert preview.returncode == 0, preview.output[-4000:]
    planned = preview.planned_changes()
    for step in ("Take the node out of service", "Upgrade every package to Debian 13", "Reboot into Debian 13"):
        assert any(step in name for name in planned), (step, planned)
    assert ssh(node, "cat /etc/apt/sources.list") == sources_before
    assert HEALTHY in ssh(node, "cat /proc/drbd")
    phase(f"{node}: --dry", started)

    ssh(node, f"cat > {KEY_FILE}", key.encode())
    acked_before = len(writer.acked_through(peer))
    started = time.monotonic()
    with upgrade.reboots_into_new_release(node):
        run = run_pyinfra("-y", "--limit", node, *UPGRADE, *APT_SOURCES, LAB_INVENTORY, "deploy.py")
    assert run.returncode == 0, run.output[-6000:]
    phase(f"{node}: upgrade run (out of service, upgrade, reboot, resync)", started)
    assert len(writer.acked_through(peer)) > acked_before, f"no write was acknowledged through {peer} meanwhile"


def converge_on_new_release(node: str, writer: AckWriter) -> None:
    started = time.monotonic()
    converge = run_pyinfra("-y", "--limit", node, *APT_SOURCES, LAB_INVENTORY, "deploy.py")
    assert converge.returncode == 0, converge.output[-6000:]
    phase(f"{node}: deploy on Debian 13", started)
    assert "VERSION_CODENAME=trixie" in ssh(node, "cat /etc/os-release")
    writer.wait_for_more(5, through=node, timeout=300)


def running_writer() -> AckWriter:
    """The client's writer a run stopped by a failure left writing: its directory on the volume."""
    writer = AckWriter(NODES)
    found = ssh("client", f"ls -d {writer.mounts[NODES[0]]}/writer-*").split()
    assert len(found) == 1, found
    writer.directory = Path(found[0]).name
    return writer


def main() -> int:
    """--resume: go on from the lab a run stopped by a failure left (writer still writing): the
    nodes still on Debian 12 are upgraded, those on 13 converged."""
    resume = "--resume" in sys.argv[1:]
    began = time.monotonic()
    started = time.monotonic()
    repo = upgrade.build_upgrade_repo()
    phase("upgrade repository", started)

    if resume:
        key = ssh(NODES[0], f"cat {KEY_FILE}")
        writer = running_writer()
    else:
        started = time.monotonic()
        run_lab("reset")
        first = run_pyinfra("-y", LAB_INVENTORY, "deploy.py")
        assert first.returncode == 0, first.output[-6000:]
        phase("Debian 12 pair converged", started)
        for node in NODES:
            assert "VERSION_CODENAME=bookworm" in ssh(node, "cat /etc/os-release")

        started = time.monotonic()
        for node in NODES:
            grow_root_disk(node)
        key = serve_mirror(repo)
        phase("install server on the client", started)

        writer = AckWriter(NODES)
        writer.start()
        writer.wait_for_more(10)
    for node in NODES:
        if "VERSION_CODENAME=bookworm" in ssh(node, "cat /etc/os-release"):
            upgrade_node(node, next(other for other in NODES if other != node), writer, key)
        converge_on_new_release(node, writer)

    started = time.monotonic()
    kernel = upgrade.kernel_version(upgrade.image_of(upgrade.TO_RELEASE) / "vmlinuz")
    for node in NODES:
        assert 'VERSION_ID="13"' in ssh(node, "cat /etc/os-release")
        assert ssh(node, "uname -r").strip() == kernel
        assert ssh(node, "grep -c cs: /proc/drbd").strip() == ssh(node, f"grep -c '{HEALTHY}' /proc/drbd").strip()
    acks = writer.stop()
    lost = {node: missing_on(node, writer, acks) for node in NODES}
    assert lost == {node: [] for node in NODES}, lost
    no_split_brain(*(guest(node) for node in NODES))
    again = run_pyinfra("-y", *APT_SOURCES, LAB_INVENTORY, "deploy.py")
    assert again.returncode == 0, again.output[-4000:]
    assert again.grand_total()["changed"] == "-", again.output[-4000:]
    phase("checks and a run that changes nothing", started)

    result = {
        "kind": "upgrade",
        "taken": datetime.now(UTC).isoformat(timespec="seconds"),
        "label": "rolling upgrade Debian 12 -> 13 while a client writes through both nodes (scripts/upgrade)"
        + (", resumed (--resume) from a run stopped by a failure" if resume else ""),
        "commit": commit(),
        "machine": machine(),
        "total_s": round(time.monotonic() - began, 1),
        "phases_s": phases,
        "acknowledged_writes": len(acks),
        "lost_writes": 0,
        "kernel": kernel,
        "packages_in_upgrade_repository": len(list(repo.glob("*.deb"))),
    }
    out = RESULTS / f"upgrade-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"upgrade: passed in {result['total_s']:.0f} s; {out}")
    run_lab("down")
    return 0


if __name__ == "__main__":
    sys.exit(main())
