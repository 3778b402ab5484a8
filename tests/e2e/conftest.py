"""The lab fixture: a fresh lab, the deploy run exactly as a user runs it, testinfra hosts.

Under CI=true the lab must run; elsewhere these tests skip only when qemu is absent.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
import testinfra

from lab import image
from lab.machines import ALL_GUESTS, drop_ssh_master, export_dir, guest_pid, ssh_command, write_atomically
from lab.settings import lab_dir, shared_dir, ssh_config, ssh_port_base
from tests.conftest import FIRST_LAB, FIRST_WORKER, LAB_PORT_OFFSET, lab_group
from tests.helpers import lab_storage_value

ROOT = Path(__file__).resolve().parents[2]
LAB_INVENTORY = "lab/inventory.py"
DEPLOY_TIMEOUT_S = 1800


@dataclass
class Run:
    returncode: int
    output: str

    def planned_changes(self) -> dict[str, str]:
        """A --dry run's "Detected changes" table: operation -> hosts it would change."""
        assert "--> Detected changes:" in self.output, self.output[-3000:]
        table = self.output.split("--> Detected changes:", 1)[1].split("\n\n", 1)[0]
        rows = [re.split(r"\s{2,}", line.strip()) for line in table.strip().splitlines()[1:]]
        return {row[0]: row[1] for row in rows if len(row) >= 2 and row[1] != "-"}

    def grand_total(self) -> dict[str, str]:
        """The counts of pyinfra's results table: hosts, success (changed), error, no change."""
        match = re.search(r"Grand total\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)", self.output)
        assert match, self.output[-3000:]
        return dict(zip(("operations", "changed", "error", "no_change"), match.groups(), strict=True))


def run_pyinfra(*args: str, count_commands_to: Path | None = None) -> Run:
    """Run pyinfra as a user does; with count_commands_to, through bench/count_commands.py,
    which also writes the remote commands sent to each host there (JSON)."""
    if count_commands_to is None:
        command = [sys.executable, "-m", "pyinfra", *args]
    else:
        command = [sys.executable, "bench/count_commands.py", str(count_commands_to), "--", *args]
    started = time.monotonic()
    result = subprocess.run(
        command,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=DEPLOY_TIMEOUT_S,
    )
    output = result.stdout + result.stderr
    log = ROOT / ".pytest_cache" / "e2e-pyinfra.log"
    log.parent.mkdir(exist_ok=True)
    with log.open("a") as handle:
        took = time.monotonic() - started
        at = time.strftime("%H:%M:%S", time.localtime(time.time() - took))
        where = f", {lab_dir().name}" if "PYTEST_XDIST_WORKER" in os.environ else ""
        handle.write(
            f"\n===== pyinfra {' '.join(args)} (rc {result.returncode}, {took:.0f} s, started {at}{where})\n{output}"
        )
    return Run(result.returncode, output)


def run_lab(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "lab", *args], cwd=ROOT, check=True, timeout=DEPLOY_TIMEOUT_S)


@contextlib.contextmanager
def lab_in_background(*args: str) -> Iterator[None]:
    """A lab command (a guest's reset and boot) running while the test goes on; waited for, and
    required to succeed, when the block ends."""
    process = subprocess.Popen([sys.executable, "-m", "lab", *args], cwd=ROOT)
    try:
        yield
    finally:
        returncode = process.wait(timeout=DEPLOY_TIMEOUT_S)
    assert returncode == 0, f"python -m lab {' '.join(args)} failed ({returncode})"


def is_copied_lab(session: pytest.Session) -> bool:
    """Whether this worker's lab starts as a copy of the first lab's converged lab
    (tests/conftest.py): a worker other than the first, while the first lab's tests, which
    converge, run in this session (on the first worker)."""
    if os.environ.get("PYTEST_XDIST_WORKER", FIRST_WORKER) == FIRST_WORKER:
        return False
    return any(lab_group(item.nodeid) == FIRST_LAB and uses_converge(item) for item in session.items)


def uses_converge(item: pytest.Item) -> bool:
    return "converge" in getattr(item, "fixturenames", ())


@pytest.fixture(scope="session")
def lab(request: pytest.FixtureRequest) -> Iterator[None]:
    if shutil.which("qemu-system-x86_64") is None or shutil.which("debootstrap") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true: the lab tests must run, but qemu-system-x86_64 or debootstrap is missing")
        pytest.skip("qemu-system-x86_64 or debootstrap is not installed, so the lab cannot run on this machine")
    if is_copied_lab(request.session):
        # Its guests come from the first lab's export (the converge fixture); stopped at the end,
        # since no `lab down` test runs in this lab.
        yield
        run_lab("down")
        return
    # A developer iterating on tests may keep a running lab; CI always starts from fresh guests.
    if os.environ.get("TWINSTORE_LAB_REUSE") == "1" and os.environ.get("CI") != "true":
        run_lab("up")
    else:
        run_lab("reset")
    yield


@dataclass
class DryRun:
    run: Run
    # Read on fiori right after the dry run, before anything else can change it.
    mailer_installed: bool
    sysctl_file_exists: bool
    data_disk_blkid_status: int


@pytest.fixture(scope="session")
def dry_run_on_fresh_lab(lab: None) -> DryRun:
    run = run_pyinfra("--dry", LAB_INVENTORY, "deploy.py")
    fiori = guest("fiori")
    return DryRun(
        run=run,
        mailer_installed=fiori.package("bsd-mailx").is_installed,
        sysctl_file_exists=fiori.run("test -e /etc/sysctl.d/60-twinstore.conf").rc == 0,
        data_disk_blkid_status=fiori.run("blkid -p /dev/vdb").rc,
    )


# The whole lab, memory and disks, right after the first converge: each fault scenario starts
# from it in seconds (lab/qmp.py) instead of a reset and a converge.
CONVERGED = "converged"


@pytest.fixture(scope="session")
def converge(request: pytest.FixtureRequest) -> Run:
    run_id = getattr(request.config, "workerinput", {}).get("testrunuid", "")
    if is_copied_lab(request.session):
        request.getfixturevalue("lab")
        if any(item.get_closest_marker("other_release") for item in request.session.items):
            # This worker waits minutes for the first lab's converge: the other release's image
            # is built meanwhile, in the background (`lab reset` takes it, or waits for its lock).
            subprocess.Popen(
                [sys.executable, "-m", "lab", "image"],
                cwd=ROOT,
                env=other_release_environment(),
                stdout=subprocess.DEVNULL,
            )
        return import_converged(run_id)
    export = copies_wait(request.session)
    try:
        request.getfixturevalue("dry_run_on_fresh_lab")
        run = run_pyinfra("-y", LAB_INVENTORY, "deploy.py")
        assert run.returncode == 0, run.output[-5000:]
        run_lab("snapshot", "save", CONVERGED, *(["--export"] if export else []))
    except BaseException as error:
        # The other labs, waiting for this converge, learn at once that it will not come.
        if export:
            publish_converge(run_id, f"the first lab's converge failed: {str(error)[-3000:]}", "")
        raise
    if export:
        publish_converge(run_id, None, run.output)
    return run


def other_release() -> str:
    """The Debian release the suite's labs do not run (lab/image.py)."""
    return next(release for release in image.RELEASES if release != image.release())


# Another lab's guests answer this many ports above the first one's (tests/conftest.py).
OTHER_RELEASE_PORTS = 2 * LAB_PORT_OFFSET


def other_release_environment() -> dict[str, str]:
    """This process's environment for the lab of the other release: a directory and ports of its
    own, and its own image, SSH key and secrets (no TWINSTORE_LAB_SHARED: a second lab shares
    the first one's, which are of the other release)."""
    release = other_release()
    environment = {name: value for name, value in os.environ.items() if name != "TWINSTORE_LAB_SHARED"}
    return {
        **environment,
        "TWINSTORE_LAB_RELEASE": release,
        "TWINSTORE_LAB_DIR": f"{shared_dir()}-{release}",
        "TWINSTORE_LAB_SSH_PORT": str(ssh_port_base() + OTHER_RELEASE_PORTS),
    }


def copies_wait(session: pytest.Session) -> bool:
    """Whether other labs in this session start from this lab's converge."""
    return int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")) > 1 and any(
        lab_group(item.nodeid) != FIRST_LAB and uses_converge(item) for item in session.items
    )


def converge_result() -> Path:
    return export_dir(CONVERGED).with_name(f"{CONVERGED}.result")


def publish_converge(run_id: str, failure: str | None, output: str) -> None:
    converge_result().parent.mkdir(parents=True, exist_ok=True)
    write_atomically(converge_result(), json.dumps({"run": run_id, "failure": failure, "output": output}))


def import_converged(run_id: str, timeout: float = 2 * DEPLOY_TIMEOUT_S) -> Run:
    """Wait for the first lab's converge in this session and its exported snapshot, and make
    this lab a copy of it."""
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(FileNotFoundError, ValueError):
            result = json.loads(converge_result().read_text())
            if result["run"] == run_id:
                break
        if time.monotonic() > deadline:
            raise AssertionError(f"the first lab's converged snapshot did not come within {timeout:.0f} s")
        time.sleep(2)
    assert result["failure"] is None, result["failure"]
    run_lab("snapshot", "import", CONVERGED)
    return Run(0, str(result["output"]))


@pytest.fixture
def converged_lab(converge: Run) -> None:
    """The lab as the first converge left it (a fault scenario's starting point)."""
    run_lab("snapshot", "load", CONVERGED)


# The link move's window (tests/e2e/test_replication.py): replication and o2cb on the
# back-to-back cable (the lab's eth2), with new o2cb timeouts in the same window.
BACKLINK = "backlink"
BACKLINK_LINK = json.dumps({"mode": "backlink", "interface": "eth2", "prefix_length": 24})


def backlink_window() -> tuple[str, ...]:
    """The deploy's --data arguments for the pair in the link move's window."""
    cluster = json.dumps({**lab_storage_value("ocfs2_cluster"), "idle_timeout_ms": 50000, "reconnect_delay_ms": 3000})
    return ("--data", f"replication_link={BACKLINK_LINK}", "--data", f"ocfs2_cluster={cluster}")


# Snapshots saved in this pytest session (a snapshot's record in the lab directory may be older
# than the guests' disks).
SAVED: set[str] = set()


@pytest.fixture
def backlink_lab(converge: Run) -> None:
    """Both nodes in service on the back-to-back cable, as the link move's window leaves them:
    saved by test_replication.py, or made here from the converged lab when that did not run."""
    if BACKLINK not in SAVED:
        run_lab("snapshot", "load", CONVERGED)
        moved = run_pyinfra("-y", LAB_INVENTORY, "deploy.py", *backlink_window())
        assert moved.returncode == 0, moved.output[-5000:]
        run_lab("snapshot", "save", BACKLINK)
        SAVED.add(BACKLINK)
    run_lab("snapshot", "load", BACKLINK)


def guest(name: str) -> testinfra.host.Host:
    return testinfra.get_host(f"ssh://{name}", ssh_config=str(ssh_config()))


@pytest.fixture(scope="session")
def fiori(lab: None) -> testinfra.host.Host:
    return guest("fiori")


@pytest.fixture(scope="session")
def torchio(lab: None) -> testinfra.host.Host:
    return guest("torchio")


@pytest.fixture(scope="session")
def client(lab: None) -> testinfra.host.Host:
    return guest("client")


# A storage node's data disk made blank in place, as if replaced, with its packages still
# installed: the node is taken out of service by its own boot unit's stop first.
WIPE_DATA = r"""
systemctl stop nfs-server.service twinstore-storage.service 2>/dev/null
for mount_point in $(awk '$2 ~ "^/vol/" { print $2 }' /proc/mounts); do umount "$mount_point"; done
drbdadm down all 2>/dev/null
vgremove -ff -y vg0 >/dev/null 2>&1
pvremove -ff -y /dev/vdb >/dev/null 2>&1
blkdiscard -f -z /dev/vdb
"""


def wipe_storage_data(*names: str) -> None:
    """Blank the data disks of storage guests (a second of write-zeroes, no reboot, no reinstall)."""
    for name in names:
        node = guest(name)
        node.check_output("sh -c %s", WIPE_DATA)
        assert node.run("blkid -p /dev/vdb").rc == 2 and node.run("cmp -s -n 16777216 /dev/vdb /dev/zero").rc == 0


SMTP_SINK_LOG = "/tmp/twinstore-smtp-sink.log"
SMTP_SINK_SCRIPT = Path(__file__).parent / "guest" / "smtp_sink.py"
MIRROR_INDEXES_SCRIPT = Path(__file__).parent / "guest" / "mirror_indexes.sh"


def mirror_indexes_command(mirror: str, packages: str, release: str, suites: Sequence[str]) -> str:
    """The command that makes a Debian mirror's indexes on a guest from a repository's Packages
    file (tests/e2e/guest/mirror_indexes.sh), each argument one word."""
    return shlex.join(["sh", "-c", MIRROR_INDEXES_SCRIPT.read_text(), "sh", mirror, packages, release, *suites])


@contextlib.contextmanager
def smtp_sink(client: testinfra.host.Host, address: str) -> Iterator[Callable[[], str]]:
    """The site's mail relay, played by the client guest: tests/e2e/guest/smtp_sink.py prints
    every message it accepts. Yields a function that returns what it received so far."""
    encoded = base64.b64encode(SMTP_SINK_SCRIPT.read_bytes()).decode()
    pid = client.check_output(
        f"echo {encoded} | base64 -d > /root/smtp_sink.py && "
        f"(nohup python3 -u /root/smtp_sink.py {address} 25 > {SMTP_SINK_LOG} 2>&1 </dev/null & echo $!)"
    )
    time.sleep(2)
    try:
        yield lambda: str(client.file(SMTP_SINK_LOG).content_string)
    finally:
        client.run(f"kill {pid}")


# The o2cb timeouts the kernel runs with: heartbeat dead threshold, idle, keepalive, reconnect.
O2CB_CONFIG = "/sys/kernel/config/cluster/ocfs2"
RUNNING_TIMEOUTS = (
    f"cat {O2CB_CONFIG}/heartbeat/dead_threshold {O2CB_CONFIG}/idle_timeout_ms "
    f"{O2CB_CONFIG}/keepalive_delay_ms {O2CB_CONFIG}/reconnect_delay_ms | tr '\\n' ' '"
)
# What RUNNING_TIMEOUTS prints with the lab's group_data (the procedure's 61 / 60000 / 4000 / 4000).
CONFIGURED_TIMEOUTS = "61 60000 4000 4000 "
BOOT_ID = "cat /proc/sys/kernel/random/boot_id"


def reboot(*names: str, timeout: float = 300) -> None:
    """Restart lab guests the way an administrator restarts a machine: a clean shutdown of all of
    them at once (`systemctl poweroff`: each node's boot unit stops it), then the power back on;
    returns when each accepts SSH in a new boot.

    A cold start, not `systemctl reboot`: a warm reset of a TCG guest (the same qemu process)
    stalls its kernel right after the initramfs, a cold start does not (docs/measurements.md,
    bench/results/lab-reboot-*.json). The guests' side is the same."""
    before = {name: guest(name).check_output(BOOT_ID) for name in names}
    for name in names:
        subprocess.run(ssh_command(name, "systemctl poweroff"), capture_output=True, timeout=60)
    deadline = time.monotonic() + timeout
    for name in names:
        machine = next(each for each in ALL_GUESTS if each.name == name)
        while guest_pid(machine) is not None:
            if time.monotonic() > deadline:
                console = console_tail(name)
                raise AssertionError(f"{name} did not power off within {timeout:.0f} s; its console:\n{console}")
            time.sleep(1)
        drop_ssh_master(name)
    run_lab("up", *names)
    for name in names:
        after = guest(name).check_output(BOOT_ID)
        assert after not in ("", before[name]), f"{name} did not boot again"


def console_tail(name: str, lines: int = 60) -> str:
    """The end of a guest's serial console, kept in the failure's message: the next start of the
    guest overwrites the file, and CI keeps only the run's output."""
    try:
        text = next(guest for guest in ALL_GUESTS if guest.name == name).console_log.read_text(errors="replace")
    except OSError as error:
        return f"(no console log: {error})"
    return "\n".join(text.splitlines()[-lines:])


def wait_until(condition: Callable[[], bool], timeout: float = 120, every: float = 3) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {timeout:.0f} s")
        time.sleep(every)


def wait_for(node: testinfra.host.Host, command: str, expected: str, timeout: float = 120, every: float = 2) -> None:
    """Poll a command on a guest until it prints what is expected; fail with the node's state otherwise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if node.run(command).stdout.strip() == expected:
            return
        time.sleep(every)
    raise AssertionError(f"{command!r} did not print {expected!r} within {timeout:.0f} s: {node_state(node)}")


# What a failed wait on a storage node needs to be understood from CI's output alone: DRBD's
# state, where the boot unit stands and what it said, and the kernel's word on the cluster layers.
NODE_STATE = (
    "cat /proc/drbd; systemctl show -p ActiveState -p Result twinstore-storage; "
    "journalctl -b -q -u twinstore-storage --no-pager | tail -n 20; "
    "journalctl -b -q -t twinstore-fence-peer --no-pager | tail -n 10; "
    "dmesg | grep -E 'ocfs2|o2net|o2hb|o2dlm|o2cb|dlm|drbd' | tail -n 40"
)


def node_state(node: testinfra.host.Host) -> str:
    return str(node.run(NODE_STATE).stdout)
