"""The boot unit and its script: ordering, and what "start" does on a healthy, a booting and a waiting node."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from operations.boot import boot_script_values
from operations.util import OCFS2_MOUNT_RETRY_S, OCFS2_MOUNT_TRIES
from tests.helpers import real_storage_config
from twinstore.templating import jinja_env_kwargs

TEMPLATES = Path(__file__).parent.parent / "templates" / "boot"


def render(template: str, **values: object) -> str:
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined, keep_trailing_newline=True, **jinja_env_kwargs()
    )
    return environment.get_template(template).render(**values)


def script(**changes: object) -> str:
    return render("twinstore-storage.sh.j2", **{**boot_script_values(real_storage_config()), **changes})


PROCEDURE = "_netdev,noatime,data=writeback,commit=60,nodiratime"
# ocfs2-small holds exported paths (/vol/home, ...): mounted synchronously (StorageConfig.ocfs2_mount_options_for).
MOUNT_SMALL = f"mount -t ocfs2 -o {PROCEDURE},sync /dev/drbd0 /vol/ocfs2-small"
MOUNT_LARGE = f"mount -t ocfs2 -o {PROCEDURE} /dev/drbd1 /vol/ocfs2-large"


def test_unit_orders_the_layers_and_stops_in_reverse() -> None:
    unit = render("twinstore-storage.service.j2", script="/usr/local/sbin/twinstore-storage")
    lines = unit.splitlines()
    assert "After=network-online.target remote-fs.target o2cb.service ocfs2.service libvirtd.service" in lines
    assert "Before=nfs-server.service libvirt-guests.service" in lines
    assert "ExecStop=/usr/local/sbin/twinstore-storage stop" in lines
    # A start a stop interrupted ran no ExecStop: the script leaves the pair cleanly then.
    assert "ExecStopPost=/usr/local/sbin/twinstore-storage stopped" in lines
    # A node whose copy may be older waits for its peer for as long as that takes.
    assert "TimeoutStartSec=infinity" in lines and "RemainAfterExit=yes" in lines


def test_script_is_valid_bash() -> None:
    subprocess.run(["bash", "-n"], input=script(), text=True, check=True)


def test_every_configured_value_is_one_shell_word() -> None:
    text = script(cluster="ocfs2; reboot", volumes=["drbd0:/dev/drbd0:/vol/x:noatime $(reboot)"])
    assert "CLUSTER='ocfs2; reboot'" in text
    assert "VOLUMES='drbd0:/dev/drbd0:/vol/x:noatime $(reboot)'" in text
    assert "RESOURCES='drbd0 drbd1'" in text
    assert (
        f"VOLUMES='drbd0:/dev/drbd0:/vol/ocfs2-small:{PROCEDURE},sync drbd1:/dev/drbd1:/vol/ocfs2-large:{PROCEDURE}'"
        in script()
    )


def run_start(
    tmp_path: Path,
    role: str,
    cstate: str,
    mounted: bool,
    inactive_pools: str = "",
    refusals: int = 0,
    connects_after: int = 0,
    failing_mount: str = "",
    mount_failures: int = 99,
) -> tuple[list[str], str]:
    """Run "start" with every system command replaced by a stub that logs its call.

    refusals: how many times each promotion is refused first, as DRBD does when the peer
    promotes at the same moment.
    connects_after: the peer connects after this many reads of the connection state; until
    then DRBD refuses to promote (a copy that may be older than the peer's).
    failing_mount: the device whose mount fails, its first mount_failures times.
    Returns the calls and what the script said.
    """
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "calls"
    answers = {
        # Stateful: a promoted resource answers Primary from then on; the connection comes up
        # after connects_after reads.
        "drbdadm": (
            f"case $1 in "
            f"cstate) echo x >> {tmp_path}/cstate-reads; "
            f"if [ $(wc -l < {tmp_path}/cstate-reads) -gt {connects_after} ]; then echo {cstate}; "
            f"else echo WFConnection; fi;; "
            f"dstate) echo UpToDate/UpToDate;; "
            f"primary) [ $(wc -l < {tmp_path}/cstate-reads) -gt {connects_after} ] || exit 11; "
            f"echo x >> {tmp_path}/tries-$2; "
            f"[ $(wc -l < {tmp_path}/tries-$2) -gt {refusals} ] || exit 11; touch {tmp_path}/primary-$2;; "
            f"role) if [ -e {tmp_path}/primary-$2 ]; then echo Primary/Primary; else echo {role}/Primary; fi;; esac"
        ),
        "blkid": "echo ocfs2",
        # A mount logs when it ends, and fails for failing_mount its first mount_failures times.
        "mount": (
            f'echo "mount done $5" >> {log}; [ "$5" != "{failing_mount or "-"}" ] && exit 0; '
            f"echo x >> {tmp_path}/mount-failures; [ $(wc -l < {tmp_path}/mount-failures) -gt {mount_failures} ]"
        ),
        # libvirt answers only the pools that are inactive and marked autostart.
        "virsh": f'case "$*" in *"pool-list --inactive --autostart"*) printf "{inactive_pools}";; esac',
        "systemctl": "exit 1",
        "hostname": "echo fiori",
    }
    for command in (
        "drbdadm", "modprobe", "blkid", "mount", "systemctl", "exportfs", "virsh", "sleep", "flock", "hostname",
    ):  # fmt: skip
        stub = bin_dir / command
        stub.write_text(f'#!/bin/sh\necho "{command} $*" >> {log}\n{answers.get(command, "true")}\n')
        stub.chmod(0o755)
    (tmp_path / "cstate-reads").touch()
    text = script()
    text = text.replace("/sys/kernel/config/cluster/", f"{tmp_path}/cluster/")
    text = text.replace("STATE_DIR=/run/twinstore", f"STATE_DIR={tmp_path}/run")
    (tmp_path / "cluster" / "ocfs2").mkdir(parents=True)
    mounts = "/dev/drbd0 /vol/ocfs2-small ocfs2\n/dev/drbd1 /vol/ocfs2-large ocfs2\n" if mounted else ""
    (tmp_path / "mounts").write_text(mounts)
    text = text.replace("/proc/mounts", str(tmp_path / "mounts"))
    environment = {**os.environ, "PATH": f"{bin_dir}:/usr/bin:/bin"}
    result = subprocess.run(["bash", "-s", "start"], input=text, text=True, env=environment, capture_output=True)
    assert result.returncode == (1 if failing_mount and mount_failures >= OCFS2_MOUNT_TRIES else 0), result.stderr
    return log.read_text().splitlines(), result.stderr


def test_start_on_a_node_in_service_changes_nothing(tmp_path: Path) -> None:
    calls, _ = run_start(tmp_path, role="Primary", cstate="Connected", mounted=True)
    assert not [call for call in calls if call.startswith(("drbdadm primary", "mount", "systemctl restart"))]


def test_start_on_a_booting_node_waits_as_drbd_says_then_promotes_then_mounts(tmp_path: Path) -> None:
    calls, _ = run_start(tmp_path, role="Secondary", cstate="Connected", mounted=False)
    actions = [call for call in calls if call.startswith(("drbdadm adjust", "drbdadm primary", "mount -t"))]
    # DRBD's own startup timeouts (wfc / degr-wfc / outdated-wfc), both resources at once, after
    # both are up and before any promotion.
    waits = [i for i, call in enumerate(calls) if call.startswith("drbdadm wait-connect")]
    assert sorted(calls[i] for i in waits) == ["drbdadm wait-connect drbd0", "drbdadm wait-connect drbd1"]
    assert calls.index("drbdadm adjust drbd1") < min(waits) and max(waits) < calls.index("drbdadm primary drbd0")
    # Both volumes mount at once (in either order), after both promotions.
    assert actions[:4] == [
        "drbdadm adjust drbd0",
        "drbdadm adjust drbd1",
        "drbdadm primary drbd0",
        "drbdadm primary drbd1",
    ]
    assert sorted(actions[4:]) == sorted([MOUNT_SMALL, MOUNT_LARGE])
    # The mounts run under the lock the deploy's mounts take too, held until both have ended.
    assert calls.index("flock 9") < min(calls.index(MOUNT_SMALL), calls.index(MOUNT_LARGE))
    assert calls.index("flock -u 9") > calls.index("mount done /dev/drbd0") and calls.index("flock -u 9") > calls.index(
        "mount done /dev/drbd1"
    )


def test_a_volume_that_does_not_mount_fails_the_start_and_the_other_still_mounts(tmp_path: Path) -> None:
    calls, said = run_start(tmp_path, role="Secondary", cstate="Connected", mounted=False, failing_mount="/dev/drbd1")
    assert MOUNT_SMALL in calls and MOUNT_LARGE in calls
    assert "ERROR: cannot mount /vol/ocfs2-large" in said
    assert "cannot mount /vol/ocfs2-small" not in said


def test_a_mount_that_fails_is_tried_again_apart_and_the_node_comes_into_service(tmp_path: Path) -> None:
    # As a mount does while the cluster connection to the peer is being made again.
    calls, said = run_start(
        tmp_path, role="Secondary", cstate="Connected", mounted=False, failing_mount="/dev/drbd1", mount_failures=2
    )
    assert calls.count(MOUNT_LARGE) == 3 and calls.count(MOUNT_SMALL) == 1
    assert calls.count(f"sleep {OCFS2_MOUNT_RETRY_S}") == 2
    assert (
        f"cannot mount /vol/ocfs2-large (try 2 of {OCFS2_MOUNT_TRIES}); trying again in {OCFS2_MOUNT_RETRY_S} s" in said
    )
    assert "ERROR" not in said
    # The lock is held until the last try has ended.
    assert calls.index("flock -u 9") > len(calls) - 1 - calls[::-1].index("mount done /dev/drbd1")


def test_a_volume_that_never_mounts_is_tried_as_often_as_configured(tmp_path: Path) -> None:
    calls, said = run_start(tmp_path, role="Secondary", cstate="Connected", mounted=False, failing_mount="/dev/drbd1")
    assert calls.count(MOUNT_LARGE) == OCFS2_MOUNT_TRIES
    assert said.count("trying again") == OCFS2_MOUNT_TRIES - 1
    assert "ERROR: cannot mount /vol/ocfs2-large" in said


def test_a_promotion_refused_by_a_concurrent_one_is_tried_again(tmp_path: Path) -> None:
    calls, _ = run_start(tmp_path, role="Secondary", cstate="Connected", mounted=False, refusals=2)
    promotions = [call for call in calls if call.startswith("drbdadm primary")]
    assert promotions == ["drbdadm primary drbd0"] * 3 + ["drbdadm primary drbd1"] * 3
    assert MOUNT_LARGE in calls


def test_a_node_drbd_will_not_promote_alone_waits_for_its_peer_and_says_so(tmp_path: Path) -> None:
    # The peer connects only after a while; until then every promotion is refused, nothing is
    # mounted, and the waiting file says what waits.
    calls, said = run_start(tmp_path, role="Secondary", cstate="Connected", mounted=False, connects_after=12)
    first_mount = next(i for i, call in enumerate(calls) if call.startswith("mount"))
    assert (
        all(not call.startswith("mount") for call in calls[:first_mount])
        and "drbdadm cstate drbd0" in calls[:first_mount]
    )
    assert "waiting for the peer: drbd0 WFConnection UpToDate/UpToDate drbd1 WFConnection UpToDate/UpToDate" in said
    assert "--data promote_alone=fiori" in said
    assert "the peer is back: drbd0 drbd1 promoted" in said
    assert MOUNT_LARGE in calls
    # Gone once the node is in service.
    assert not (tmp_path / "run" / "waiting").exists()


def test_start_starts_the_autostart_pools_libvirt_could_not_start_before_the_mounts(tmp_path: Path) -> None:
    calls, _ = run_start(
        tmp_path, role="Primary", cstate="Connected", mounted=True, inactive_pools="vmpool0\\nvmpool1\\n"
    )
    started = [call for call in calls if "pool-start" in call]
    assert started == ["virsh -q -c qemu:///system pool-start vmpool0", "virsh -q -c qemu:///system pool-start vmpool1"]


def run_stopped(tmp_path: Path, exit_code: str, exit_status: str) -> tuple[list[str], str]:
    """Run "stopped" as systemd's ExecStopPost does, with how the start ended in its environment,
    on a node with one volume mounted, nfs-server active and every system command a stub."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "calls"
    for command in ("drbdadm", "umount", "systemctl", "exportfs"):
        stub = bin_dir / command
        stub.write_text(f'#!/bin/sh\necho "{command} $*" >> {log}\n')
        stub.chmod(0o755)
    (tmp_path / "mounts").write_text("/dev/drbd0 /vol/ocfs2-small ocfs2\n")
    text = script().replace("/proc/mounts", str(tmp_path / "mounts"))
    environment = {**os.environ, "PATH": f"{bin_dir}:/usr/bin:/bin", "EXIT_CODE": exit_code, "EXIT_STATUS": exit_status}
    result = subprocess.run(["bash", "-s", "stopped"], input=text, text=True, env=environment, capture_output=True)
    assert result.returncode == 0, result.stderr
    return (log.read_text().splitlines() if log.exists() else []), result.stderr


def test_a_start_a_stop_interrupted_leaves_the_pair_as_a_stop_does(tmp_path: Path) -> None:
    # systemd's environment for ExecStopPost after `systemctl stop` killed the start (systemd 252 on the lab).
    calls, said = run_stopped(tmp_path, exit_code="killed", exit_status="TERM")
    assert calls == [
        "systemctl -q is-active nfs-server.service",
        "exportfs -au",
        "umount /vol/ocfs2-small",
        "drbdadm secondary drbd0",
        "drbdadm down drbd0",
        "drbdadm secondary drbd1",
        "drbdadm down drbd1",
    ]
    assert "the start was interrupted (SIGTERM)" in said


def test_after_a_stop_or_a_failed_start_stopped_changes_nothing(tmp_path: Path) -> None:
    # After ExecStop (the start had exited 0), and after a start that failed (exit 1): the node
    # keeps serving what it could, as before this hook existed.
    for number, status in enumerate(("0", "1")):
        directory = tmp_path / str(number)
        directory.mkdir()
        assert run_stopped(directory, exit_code="exited", exit_status=status) == ([], "")
