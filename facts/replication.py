"""The replication link as the running system uses it: DRBD's addresses and the IPv4 addresses up.

The o2cb side (the cluster members configfs holds) is in facts/ocfs2.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pyinfra.api import FactBase, StringCommand
from typing_extensions import override

from facts.util import script_command, section_lines

RESOURCE = re.compile(r"^resource\s+(\S+)\s*\{")
ADDRESS = re.compile(r"^\s*address\s+ipv4\s+([0-9.]+):(\d+);")
INTERFACE_ADDRESS = re.compile(r"^\d+:\s+(\S+)\s+inet\s+([0-9.]+)/(\d+)")


@dataclass(frozen=True)
class DrbdAddresses:
    """The addresses a resource that is up uses: this node's and the peer's."""

    this_host: str | None = None
    remote_host: str | None = None


@dataclass(frozen=True)
class ReplicationLinkState:
    # Resource name -> the addresses it runs with (resources the kernel knows only).
    drbd: dict[str, DrbdAddresses] = field(default_factory=dict)
    # Interface -> its IPv4 addresses as address/prefix.
    interface_addresses: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def has_address(self, interface: str, address: str) -> bool:
        return any(entry.split("/")[0] == address for entry in self.interface_addresses.get(interface, ()))


class ReplicationLink(FactBase[ReplicationLinkState]):
    """
    The addresses each DRBD resource that is up runs with, and the IPv4 addresses of each interface.

    .. code:: python

        ReplicationLinkState(
            drbd={"drbd0": DrbdAddresses(this_host="192.168.1.6:7790", remote_host="192.168.1.7:7790")},
            interface_addresses={"eth1": ("192.168.1.6/24",), "eth2": ("10.99.0.6/24",)},
        )
    """

    @override
    @staticmethod
    def default() -> ReplicationLinkState:
        return ReplicationLinkState()

    @override
    def command(self) -> StringCommand:
        return script_command(("replication",), [])

    @override
    def process(self, output: list[str]) -> ReplicationLinkState:
        sections = section_lines(output)
        addresses: dict[str, list[str]] = {}
        for line in sections.get("addresses", []):
            if match := INTERFACE_ADDRESS.match(line):
                addresses.setdefault(match.group(1), []).append(f"{match.group(2)}/{match.group(3)}")
        return ReplicationLinkState(
            drbd=drbd_addresses(sections.get("drbd", [])),
            interface_addresses={name: tuple(values) for name, values in addresses.items()},
        )


def drbd_addresses(lines: list[str]) -> dict[str, DrbdAddresses]:
    """Each resource's addresses in ``drbdsetup show``'s output: this node's in its _this_host
    block, the peer's in its _remote_host block."""
    drbd: dict[str, DrbdAddresses] = {}
    resource = ""
    block = ""
    for line in lines:
        if match := RESOURCE.match(line):
            resource, block = match.group(1), ""
            drbd[resource] = DrbdAddresses()
        elif "_remote_host" in line:
            block = "remote_host"
        elif "_this_host" in line:
            block = "this_host"
        elif (match := ADDRESS.match(line)) and resource and block:
            value = f"{match.group(1)}:{match.group(2)}"
            current = drbd[resource]
            drbd[resource] = (
                DrbdAddresses(this_host=value, remote_host=current.remote_host)
                if block == "this_host"
                else DrbdAddresses(this_host=current.this_host, remote_host=value)
            )
            block = ""
    return drbd
