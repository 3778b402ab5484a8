"""Where the lab lives and what its guests look like."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


def lab_dir() -> Path:
    return Path(os.environ.get("TWINSTORE_LAB_DIR", Path.home() / ".cache" / "twinstore-lab")).resolve()


SSH_PORT_BASE = int(os.environ.get("TWINSTORE_LAB_SSH_PORT", "2221"))
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
        return SSH_PORT_BASE + self.index

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
    def root_disk(self) -> Path:
        return lab_dir() / "disks" / f"{self.name}-root.qcow2"

    @property
    def data_disk(self) -> Path:
        return lab_dir() / "disks" / f"{self.name}-data.qcow2"


# The LAN addresses are the real inventory's; memory adds up to 2.75 GiB (budget: 4 GiB).
GUESTS = (
    Guest("fiori", 0, "192.168.1.6", 1024, storage=True),
    Guest("torchio", 1, "192.168.1.7", 1024, storage=True),
    Guest("client", 2, "192.168.1.10", 768, storage=False),
)


def guest(name: str) -> Guest:
    for candidate in GUESTS:
        if candidate.name == name:
            return candidate
    raise KeyError(f"no lab guest named {name!r} (guests: {', '.join(g.name for g in GUESTS)})")


def ssh_key() -> Path:
    return lab_dir() / "id_ed25519"


def ssh_config() -> Path:
    return lab_dir() / "ssh_config"


def known_hosts() -> Path:
    return lab_dir() / "known_hosts"
