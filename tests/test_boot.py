"""The boot unit and its script: ordering, and what "start" does on a healthy and on a fresh node."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

TEMPLATES = Path(__file__).parent.parent / "templates" / "boot"
VOLUMES = [
    {"resource": "drbd0", "device": "/dev/drbd0", "mount_point": "/vol/ocfs2-small"},
    {"resource": "drbd1", "device": "/dev/drbd1", "mount_point": "/vol/ocfs2-large"},
]


def render(template: str, **values: object) -> str:
    environment = Environment(loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined, keep_trailing_newline=True)
    return environment.get_template(template).render(**values)


def script() -> str:
    return render(
        "twinstore-storage.sh.j2",
        resources=["drbd0", "drbd1"],
        volumes=VOLUMES,
        cluster="ocfs2",
        mount_options="_netdev,noatime",
        peer_wait_s=2,
    )


def test_unit_orders_the_layers_and_stops_in_reverse() -> None:
    unit = render("twinstore-storage.service.j2", script="/usr/local/sbin/twinstore-storage", start_timeout_s=420)
    lines = unit.splitlines()
    assert "After=network-online.target remote-fs.target o2cb.service ocfs2.service libvirtd.service" in lines
    assert "Before=nfs-server.service libvirt-guests.service" in lines
    assert "ExecStop=/usr/local/sbin/twinstore-storage stop" in lines
    assert "TimeoutStartSec=420" in lines and "RemainAfterExit=yes" in lines


def test_script_is_valid_bash() -> None:
    subprocess.run(["bash", "-n"], input=script(), text=True, check=True)


def run_start(
    tmp_path: Path, role: str, cstate: str, mounted: bool, inactive_pools: str = "", refusals: int = 0
) -> list[str]:
    """Run "start" with every system command replaced by a stub that logs its call.

    refusals: how many times each promotion is refused first, as DRBD does when the peer
    promotes at the same moment.
    """
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "calls"
    answers = {
        # Stateful: a promoted resource answers Primary from then on.
        "drbdadm": (
            f"case $1 in cstate) echo {cstate};; dstate) echo UpToDate/UpToDate;; "
            f"primary) echo x >> {tmp_path}/tries-$2; "
            f"[ $(wc -l < {tmp_path}/tries-$2) -gt {refusals} ] || exit 11; touch {tmp_path}/primary-$2;; "
            f"role) if [ -e {tmp_path}/primary-$2 ]; then echo Primary/Primary; else echo {role}/Primary; fi;; esac"
        ),
        "blkid": "echo ocfs2",
        # libvirt answers only the pools that are inactive and marked autostart.
        "virsh": f'case "$*" in *"pool-list --inactive --autostart"*) printf "{inactive_pools}";; esac',
        "systemctl": "exit 1",
    }
    for command in ("drbdadm", "modprobe", "blkid", "mount", "systemctl", "exportfs", "virsh", "sleep"):
        stub = bin_dir / command
        stub.write_text(f'#!/bin/sh\necho "{command} $*" >> {log}\n{answers.get(command, "true")}\n')
        stub.chmod(0o755)
    text = script()
    text = text.replace("/sys/kernel/config/cluster/", f"{tmp_path}/cluster/")
    (tmp_path / "cluster" / "ocfs2").mkdir(parents=True)
    mounts = "/dev/drbd0 /vol/ocfs2-small ocfs2\n/dev/drbd1 /vol/ocfs2-large ocfs2\n" if mounted else ""
    (tmp_path / "mounts").write_text(mounts)
    text = text.replace("/proc/mounts", str(tmp_path / "mounts"))
    environment = {**os.environ, "PATH": f"{bin_dir}:/usr/bin:/bin"}
    result = subprocess.run(["bash", "-s", "start"], input=text, text=True, env=environment, capture_output=True)
    assert result.returncode == 0, result.stderr
    return log.read_text().splitlines()


def test_start_on_a_node_in_service_changes_nothing(tmp_path: Path) -> None:
    calls = run_start(tmp_path, role="Primary", cstate="Connected", mounted=True)
    assert not [call for call in calls if call.startswith(("drbdadm primary", "mount", "systemctl restart"))]


def test_start_on_a_booting_node_promotes_then_mounts(tmp_path: Path) -> None:
    calls = run_start(tmp_path, role="Secondary", cstate="Connected", mounted=False)
    actions = [call for call in calls if call.startswith(("drbdadm adjust", "drbdadm primary", "mount"))]
    assert actions == [
        "drbdadm adjust drbd0",
        "drbdadm adjust drbd1",
        "drbdadm primary drbd0",
        "drbdadm primary drbd1",
        "mount -t ocfs2 -o _netdev,noatime /dev/drbd0 /vol/ocfs2-small",
        "mount -t ocfs2 -o _netdev,noatime /dev/drbd1 /vol/ocfs2-large",
    ]


def test_a_promotion_refused_by_a_concurrent_one_is_tried_again(tmp_path: Path) -> None:
    calls = run_start(tmp_path, role="Secondary", cstate="Connected", mounted=False, refusals=2)
    promotions = [call for call in calls if call.startswith("drbdadm primary")]
    assert promotions == ["drbdadm primary drbd0"] * 3 + ["drbdadm primary drbd1"] * 3
    assert "mount -t ocfs2 -o _netdev,noatime /dev/drbd1 /vol/ocfs2-large" in calls


def test_start_starts_the_autostart_pools_libvirt_could_not_start_before_the_mounts(tmp_path: Path) -> None:
    calls = run_start(tmp_path, role="Primary", cstate="Connected", mounted=True, inactive_pools="vmpool0\\nvmpool1\\n")
    started = [call for call in calls if "pool-start" in call]
    assert started == ["virsh -q -c qemu:///system pool-start vmpool0", "virsh -q -c qemu:///system pool-start vmpool1"]
