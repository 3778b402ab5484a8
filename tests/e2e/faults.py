"""Faults on the lab and the client's record of acknowledged writes, for the fault scenarios.

The lab injects a fault the way it happens to real machines (lab/qmp.py: a power cut, a pulled
cable, a hang); the client guest writes through NFS and keeps the list of every write the server
acknowledged (tests/e2e/guest/ack_writer.py). A scenario passes only when every acknowledged
write is on both nodes afterwards, byte for byte.
"""

from __future__ import annotations

import base64
import itertools
import re
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import testinfra

from lab.bmc import log_file
from lab.machines import ssh_command
from tests.e2e.conftest import ROOT, run_lab

WRITER_SCRIPT = Path(__file__).parent / "guest" / "ack_writer.py"
RUN_DIR = "/root/ack-writer"
# soft: a write to a server that is away fails after about 6 s instead of hanging, so the writer
# goes on through the other node (a failed write is never counted as acknowledged).
MOUNT_OPTIONS = "nfsvers=3,soft,timeo=20,retrans=2"
EXPORT = "/vol/home"
# Where a storage node finds what the client wrote through EXPORT.
NODE_VOLUME = "/vol/home"
LAN = {"fiori": "192.168.1.6", "torchio": "192.168.1.7"}
MEASUREMENTS = ROOT / ".pytest_cache" / "e2e-measurements.log"


def on_guest(name: str, command: str, stdin: str | None = None, timeout: float = 300) -> str:
    """Run a shell command on a lab guest (stdin allowed, unlike testinfra's run) and return its output."""
    result = subprocess.run(
        ssh_command(name, command), input=stdin, capture_output=True, text=True, timeout=timeout, check=False
    )
    if result.returncode != 0:
        raise AssertionError(f"{name}: {command!r} failed ({result.returncode}): {result.stderr[-2000:]}")
    return result.stdout


@dataclass(frozen=True)
class Ack:
    when: float
    mount: str
    name: str
    sha256: str


class AckWriter:
    """The client's writer: through each named node's export in turn, recording what was acknowledged."""

    def __init__(self, nodes: tuple[str, ...] = ("fiori", "torchio")) -> None:
        self.nodes = nodes
        self.mounts = {node: f"/mnt/ack-{node}" for node in nodes}
        # A directory of its own on the volume: a scenario's files never meet an earlier one's.
        self.directory = f"writer-{uuid.uuid4().hex[:8]}"

    def start(self) -> None:
        encoded = base64.b64encode(WRITER_SCRIPT.read_bytes()).decode()
        setup = [f"echo {encoded} | base64 -d > /root/ack_writer.py", f"rm -rf {RUN_DIR}"]
        for node, mount in self.mounts.items():
            # Right after a snapshot load the first NFS request may time out (the guests' network
            # comes back from a pause); a server that does not answer within 30 s fails the setup.
            setup.append(
                f"mkdir -p {mount} && (umount -f -l {mount} 2>/dev/null; true) && "
                f"for attempt in 1 2 3 4 5; do mount -t nfs -o {MOUNT_OPTIONS} {LAN[node]}:{EXPORT} {mount} && break; "
                f"sleep 1; done && mountpoint -q {mount} && mkdir -p {mount}/{self.directory}"
            )
        on_guest("client", " && ".join(setup))
        directories = " ".join(f"{mount}/{self.directory}" for mount in self.mounts.values())
        # Detached from the SSH session, which would otherwise wait for it to end.
        on_guest("client", f"setsid python3 /root/ack_writer.py {RUN_DIR} {directories} </dev/null >/dev/null 2>&1 &")

    def acked(self) -> list[Ack]:
        text = on_guest("client", f"cat {RUN_DIR}/acked 2>/dev/null || true")
        acks = []
        for line in text.splitlines():
            when, mount, name, sha256 = line.split()
            acks.append(Ack(float(when), mount, name, sha256))
        return acks

    def acked_through(self, node: str) -> list[Ack]:
        return [ack for ack in self.acked() if ack.mount == f"{self.mounts[node]}/{self.directory}"]

    def wait_for_more(self, count: int, through: str | None = None, timeout: float = 600) -> list[Ack]:
        """Wait until count more writes are acknowledged (through one node's export, if named)."""

        def current() -> list[Ack]:
            return self.acked_through(through) if through else self.acked()

        target = len(current()) + count
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            acks = current()
            if len(acks) >= target:
                return acks
            time.sleep(3)
        failed = on_guest("client", f"tail -n 5 {RUN_DIR}/failed 2>/dev/null || true")
        raise AssertionError(
            f"fewer than {count} more writes acknowledged within {timeout:.0f} s; last failures:\n{failed}"
        )

    def stop(self) -> list[Ack]:
        """Stop the writer (killed if a write hangs) and unmount; return every acknowledged write."""
        on_guest("client", f"touch {RUN_DIR}/stop")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if on_guest("client", f"test -e {RUN_DIR}/done && echo done || true").strip() == "done":
                break
            time.sleep(2)
        else:
            on_guest("client", f"kill -9 $(cat {RUN_DIR}/pid) 2>/dev/null; true")
        on_guest("client", " ; ".join(f"umount -f -l {mount} 2>/dev/null" for mount in self.mounts.values()) + "; true")
        return self.acked()


def missing_on(node: str, writer: AckWriter, acks: list[Ack]) -> list[str]:
    """The acknowledged writes that node does not hold with the same bytes (read through its own mount)."""
    if not acks:
        return []
    names = "\n".join(ack.name for ack in acks) + "\n"
    directory = f"{NODE_VOLUME}/{writer.directory}"
    output = on_guest(node, f"cd {directory} && xargs sha256sum 2>&1 || true", stdin=names)
    found = {}
    for line in output.splitlines():
        parts = line.split()
        if len(parts) == 2:
            found[parts[1]] = parts[0]
    return [ack.name for ack in acks if found.get(ack.name) != ack.sha256]


def longest_gap(acks: list[Ack], after: float) -> float:
    """The longest time without an acknowledged write, from a moment on (how long clients hung)."""
    times = [after, *sorted(ack.when for ack in acks if ack.when >= after)]
    return max((later - earlier for earlier, later in itertools.pairwise(times)), default=0.0)


def power_off(*names: str) -> float:
    """Cut the power of guests at once; return the moment it happened (host clock, like the client's)."""
    cut = time.time()
    run_lab("poweroff", *names)
    return cut


def power_on(*names: str) -> None:
    run_lab("up", *names)


def restore(tag: str) -> None:
    run_lab("snapshot", "load", tag)


def measured(what: str, value: str) -> None:
    """Keep a figure the scenario measured (the README quotes them; tests assert no timing)."""
    MEASUREMENTS.parent.mkdir(exist_ok=True)
    with MEASUREMENTS.open("a") as handle:
        handle.write(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} {what}: {value}\n")


def verify_out_of_sync(node: str, minor: int, start: int = 0, end: int | None = None, timeout: int = 600) -> int:
    """Run DRBD's online verify of drbdN's bytes [start, end) from this node, wait until it ends,
    and return what it left marked out of sync, in KiB (/proc/drbd's oos). DRBD compares both
    nodes' copies block by block while the pair serves, so writes in flight cannot fool it as
    two separate reads of a live device can."""
    stop = f" --stop={end // 512}" if end is not None else ""
    done = f"dmesg | grep -c 'drbd{minor}: Online verify done' || true"
    script = (
        f"before=$({done}); "
        f"drbdadm -- --start={start // 512}{stop} verify drbd{minor}; "
        f"for _ in $(seq {timeout}); do now=$({done}); "
        '[ "$now" -gt "$before" ] && break; sleep 1; done; '
        '[ "$now" -gt "$before" ] || { echo "the verify did not end" >&2; exit 1; }; '
        f"sed -n '/^ *{minor}: /,+1p' /proc/drbd"
    )
    state = on_guest(node, script, timeout=timeout + 60)
    found = re.search(r"oos:(\d+)", state)
    assert found, state
    return int(found.group(1))


def no_split_brain(*nodes: testinfra.host.Host) -> None:
    for node in nodes:
        log = node.check_output("dmesg | grep -i 'split-brain' || true")
        assert not log, log


def bmc_actions() -> list[list[str]]:
    """Every power action the lab's BMCs (lab/bmc.py) took so far: [guest, action]."""
    try:
        lines = log_file().read_text().splitlines()
    except FileNotFoundError:
        return []
    return [line.split()[1:] for line in lines]
