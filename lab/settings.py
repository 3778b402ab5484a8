"""Where the lab lives and what its guests look like."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path


def lab_dir() -> Path:
    return Path(os.environ.get("TWINSTORE_LAB_DIR", Path.home() / ".cache" / "twinstore-lab")).resolve()


def shared_dir() -> Path:
    """Where the base image, the SSH key and the secrets live: the lab's own directory, or, for a
    second lab run beside a first one (TWINSTORE_LAB_SHARED names the first one's directory), the
    first lab's: the second lab's guests are copies of the first one's (`snapshot import`)."""
    shared = os.environ.get("TWINSTORE_LAB_SHARED")
    return Path(shared).resolve() if shared else lab_dir()


def ssh_port_base() -> int:
    return int(os.environ.get("TWINSTORE_LAB_SSH_PORT", "2221"))


def address_space_randomized() -> bool:
    """Whether the guests' kernels randomize programs' address spaces (ASLR). Off in the lab,
    where it only costs time (lab/machines.py); TWINSTORE_LAB_ASLR=1 turns it on again, for the
    benchmark that compares the two (bench/converge.py)."""
    return os.environ.get("TWINSTORE_LAB_ASLR") == "1"


DATA_DISK_SIZE = "16G"
LAN_PREFIX = 24


@dataclass(frozen=True)
class Guest:
    name: str
    index: int
    lan_address: str
    memory_mib: int
    # Storage guests get a data disk for vg0 (/dev/vdb) and the back-to-back NIC (eth2).
    storage: bool

    @property
    def ssh_port(self) -> int:
        return ssh_port_base() + self.index

    @property
    def run_dir(self) -> Path:
        return lab_dir() / "run"

    @property
    def pid_file(self) -> Path:
        return self.run_dir / f"{self.name}.pid"

    @property
    def console_log(self) -> Path:
        return self.run_dir / f"{self.name}.console"

    @property
    def bmc_address(self) -> str:
        """Where every storage guest reaches this guest's BMC (lab/bmc.py): an address of qemu's
        user network, which each guest's management NIC is on."""
        return f"10.0.2.{100 + self.index}"

    @property
    def root_disk(self) -> Path:
        return lab_dir() / "disks" / f"{self.name}-root.qcow2"

    @property
    def data_disk(self) -> Path:
        return lab_dir() / "disks" / f"{self.name}-data.qcow2"


def lab_pairs() -> int:
    """How many storage pairs the lab runs: 1 (default) or 2 (TWINSTORE_LAB_PAIRS=2, for scaling)."""
    value = os.environ.get("TWINSTORE_LAB_PAIRS", "1")
    if value not in ("1", "2"):
        raise ValueError(f"TWINSTORE_LAB_PAIRS={value!r}: the lab runs 1 or 2 storage pairs")
    return int(value)


# The LAN addresses are the real inventory's; memory adds up to 2.75 GiB (budget: 4 GiB).
FIRST_PAIR_AND_CLIENT = (
    Guest("fiori", 0, "192.168.1.6", 1024, storage=True),
    Guest("torchio", 1, "192.168.1.7", 1024, storage=True),
    Guest("client", 2, "192.168.1.10", 768, storage=False),
)
# A second pair (inventory group pair_b) on the same LAN and back-to-back switch, only to
# measure how a run grows with the inventory; 2 GiB more.
SECOND_PAIR = (
    Guest("fusilli", 3, "192.168.1.8", 1024, storage=True),
    Guest("penne", 4, "192.168.1.9", 1024, storage=True),
)
# Every guest the lab can run, whatever this process's setting: what `down` stops.
ALL_GUESTS = FIRST_PAIR_AND_CLIENT + SECOND_PAIR
GUESTS = FIRST_PAIR_AND_CLIENT + (SECOND_PAIR if lab_pairs() == 2 else ())


def guest(name: str) -> Guest:
    for candidate in ALL_GUESTS:
        if candidate.name == name:
            return candidate
    raise KeyError(f"no lab guest named {name!r} (guests: {', '.join(g.name for g in ALL_GUESTS)})")


def ssh_key() -> Path:
    return shared_dir() / "id_ed25519"


def ssh_config() -> Path:
    return lab_dir() / "ssh_config"


def drbd_secret_file(pair: str) -> Path:
    """A pair's DRBD shared secret, as a site keeps it: a file outside the repository, mode
    0600, made once with a random value (the lab's group_data points at it)."""
    return _random_secret(shared_dir() / "secrets" / f"drbd-{pair}")


def _random_secret(path: Path) -> Path:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_urlsafe(32) + "\n")
    return path


def bmc_password_file(name: str) -> Path:
    """A guest's BMC password, as a site keeps one: a file outside the repository, mode 0600,
    made once with a random value (lab/bmc.py checks it, the lab's group_data points at it)."""
    return _random_secret(shared_dir() / "secrets" / f"bmc-{name}")


def bmc_certificate() -> Path:
    """The lab BMCs' TLS key and self-signed certificate (lab/bmc.py makes it)."""
    return shared_dir() / "secrets" / "bmc.pem"


def known_hosts() -> Path:
    return lab_dir() / "known_hosts"
