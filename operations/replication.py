"""The replication link: the back-to-back interface, and moving DRBD and o2cb onto it (or back).

The procedure's last part, as one deploy: when the configured link (``replication_link.mode``
and the nodes' ``link_address``) differs from the addresses DRBD and o2cb run with, both nodes
are taken out of service together (exports, OCFS2 mounts, DRBD down, o2cb offline), the other
subsystems rewrite the resource files and ``cluster.conf`` as usual, and both come back through
the boot unit (DRBD up and connected, promoted, o2cb online, mounted, exported). DRBD keeps its
metadata and bitmap across the move, so the reconnection resyncs nothing.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field
from pathlib import Path

from pyinfra import host, logger
from pyinfra.api import StringCommand, deploy, operation
from pyinfra.operations import files

from facts.drbd import DrbdResources, DrbdResourceState
from facts.ocfs2 import Ocfs2, Ocfs2State
from facts.replication import DrbdAddresses, ReplicationLink, ReplicationLinkState
from operations.boot import SCRIPT as BOOT_SCRIPT
from operations.boot import UNIT as BOOT_UNIT
from operations.drbd import read_peer
from operations.ocfs2 import O2CB_SERVICE
from operations.util import operation_script
from twinstore.config import StorageConfig
from twinstore.fact_cache import FactReads, prefetch_reads
from twinstore.validation import Problem, host_source, stop

TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "replication"
INTERFACES_FILE = "/etc/network/interfaces.d/twinstore-replication"
PEER_WAIT_S = 60
# A resource in one of these states is copying data: taking it down now would restart that.
BUSY_CONNECTIONS = ("SyncSource", "SyncTarget", "PausedSyncS", "PausedSyncT", "StartingSyncS", "StartingSyncT")


@dataclass
class LinkMove:
    """Whether this node leaves service in this run for the configured link or o2cb timeouts, and why (not)."""

    # What runs on other addresses than the configuration's, one line each.
    differences: list[str] = field(default_factory=list)
    # The o2cb timeouts that run other than configured: name -> (running, configured). o2cb
    # reads them only when it starts, and both nodes must agree, so they change as the link does.
    timeout_changes: dict[str, tuple[int | None, int]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    @property
    def timeout_differences(self) -> list[str]:
        return [
            f"o2cb runs with {name} {running}, configured {wanted}"
            for name, (running, wanted) in self.timeout_changes.items()
        ]

    @property
    def needed(self) -> bool:
        return bool(self.differences or self.timeout_changes)

    @property
    def moves_link(self) -> bool:
        return bool(self.differences)

    @property
    def reasons(self) -> list[str]:
        return self.differences + self.timeout_differences


def wanted_drbd_addresses(config: StorageConfig, node_name: str) -> dict[str, DrbdAddresses]:
    this = next(node for node in config.nodes if node.name == node_name)
    peer = config.peer_of(node_name)
    return {
        name: DrbdAddresses(
            this_host=f"{config.replication_address(this)}:{resource.port}",
            remote_host=f"{config.replication_address(peer)}:{resource.port}",
        )
        for name, resource in config.drbd_resources.items()
    }


def not_movable(node: str, resources: dict[str, DrbdResourceState]) -> list[str]:
    """Resources that must not be taken down now: a sync under way, or no good local copy."""
    blocked = []
    for name, resource in resources.items():
        if not resource.configured:
            continue
        if resource.connection in BUSY_CONNECTIONS or resource.connection == "StandAlone":
            blocked.append(f"{name} on {node} is {resource.connection}")
        elif resource.disk != "UpToDate":
            blocked.append(f"{name} on {node} is {resource.disk}")
    return blocked


def plan_link_move(
    config: StorageConfig,
    node_name: str,
    link: ReplicationLinkState,
    ocfs2: Ocfs2State,
    local: dict[str, DrbdResourceState],
    peer: dict[str, DrbdResourceState] | None,
    peer_targeted: bool,
    source: str,
    ocfs2_source: str = "group_data/storage.py",
) -> LinkMove:
    move = LinkMove()
    for name, wanted in wanted_drbd_addresses(config, node_name).items():
        running = link.drbd.get(name)
        # A disconnected resource (StandAlone: split brain, or drbdadm disconnect) runs with no
        # addresses at all; its next connect reads them from the files.
        if running is None or running.this_host is None or running.remote_host is None:
            continue
        if running != wanted:
            move.differences.append(
                f"{name} runs on {running.this_host} to {running.remote_host}, "
                f"configured {wanted.this_host} to {wanted.remote_host}"
            )
    members = config.cluster_members
    if ocfs2.online and ocfs2.cluster_members != members:
        running_members = ", ".join(f"{n} {a}" for n, a in sorted(ocfs2.cluster_members.items()))
        move.differences.append(f"o2cb runs with {running_members}")
    wanted_timeouts = config.ocfs2_cluster.timeouts
    if ocfs2.online:
        move.timeout_changes = {
            name: (ocfs2.timeouts.get(name), value)
            for name, value in wanted_timeouts.items()
            if ocfs2.timeouts.get(name) != value
        }
    if not move.needed:
        return move

    peer_name = config.peer_of(node_name).name
    if move.moves_link:
        what = "moving the replication link"
        field_name, value, field_source = "replication_link.mode", str(config.replication_link.mode), source
    else:
        changed = next(iter(move.timeout_changes))
        what = "applying new o2cb timeouts"
        field_name, value, field_source = f"ocfs2_cluster.{changed}", str(wanted_timeouts[changed]), ocfs2_source

    def problem(rule: str) -> Problem:
        return Problem(field_source, field_name, value, rule)

    if peer is None or not peer_targeted:
        why = "cannot be reached" if peer is None else "is left out by --limit"
        move.problems.append(
            problem(
                f"{what} takes both nodes out of service together, and {peer_name} {why}; "
                "run the deploy on both nodes of the pair"
            )
        )
        return move
    blocked = not_movable(node_name, local) + not_movable(peer_name, peer)
    if blocked:
        move.problems.append(
            problem(
                f"{what} waits until no resource is resyncing or split ({'; '.join(blocked)}); "
                "run it again once status.py reports the pair healthy"
            )
        )
    return move


def move_title(config: StorageConfig, move: LinkMove) -> str:
    """What the node leaves service for, as the operations' names say it in --dry."""
    if move.moves_link:
        target = "back-to-back link" if config.replication_link.mode == "backlink" else "LAN"
        addresses = ", ".join(config.replication_address(node) for node in config.nodes)
        return f"Move replication to the {target} ({addresses})"
    changes = ", ".join(f"{name} {running} -> {wanted}" for name, (running, wanted) in move.timeout_changes.items())
    return f"Apply the configured o2cb timeouts ({changes})"


def link_move(config: StorageConfig) -> LinkMove:
    """This node's move, from the facts every subsystem shares (read once per run)."""
    return plan_link_move(
        config,
        host.name,
        host.get_fact(ReplicationLink),
        host.get_fact(Ocfs2, cluster=config.ocfs2_cluster.name, devices=config.ocfs2_devices),
        host.get_fact(DrbdResources, resources=config.drbd_fact_resources),
        *read_peer(config),
        source=host_source(host, "replication_link"),
        ocfs2_source=host_source(host, "ocfs2_cluster"),
    )


@operation()
def interface_address(interface: str, address: str, changed: bool) -> Generator[StringCommand, None, None]:
    """
    Bring the back-to-back interface up with its configured address.

    + interface: the interface name
    + address: the address it must carry (without prefix)
    + changed: its stanza was just written, so an interface already up is brought up again
    """
    link = host.get_fact(ReplicationLink)
    if link.has_address(interface, address) and not changed:
        host.noop(f"{interface} has {address}")
        return
    # ifdown first: ifup leaves an interface it believes up as it is, with its old address.
    yield StringCommand(f"ifdown --force {interface} 2>/dev/null; ifup {interface}")


@operation(is_idempotent=False)
def peer_reachable(peer: str, address: str) -> Generator[StringCommand, None, None]:
    """
    Wait until the peer answers on its link address (the procedure's ping over the new cable).

    + peer: the peer's name, for the message
    + address: its address on the link
    """
    yield StringCommand(
        f"for i in $(seq {PEER_WAIT_S}); do ping -c 1 -W 1 {address} >/dev/null && exit 0; done; "
        f'echo "{peer} does not answer on {address} after {PEER_WAIT_S} s: is the cable in?" >&2; exit 1'
    )


# Every process that uses an OCFS2 volume would keep it from being unmounted: the move is refused
# (on both nodes: a storage run fails as a whole) before anything is taken out of service.


@operation(is_idempotent=False)
def nothing_holds(mount_points: list[str], purpose: str) -> Generator[StringCommand, None, None]:
    """
    Fail, saying which processes, when anything uses a volume the node must unmount to leave service.

    + mount_points: the OCFS2 mount points
    + purpose: why the node leaves service, as the message names it ("the move")
    """
    yield operation_script("replication_holders", *mount_points, purpose=purpose)


@operation(is_idempotent=False)
def out_of_service(reasons: list[str]) -> Generator[StringCommand, None, None]:
    """
    Take this node out of service for the move: unexport, unmount OCFS2, DRBD down, o2cb offline.

    + reasons: what runs on other addresses than configured (shown in --dry)
    """
    yield StringCommand(
        # The boot unit's stop unexports, unmounts, demotes and takes DRBD down, and stops short of
        # DRBD when a volume cannot be unmounted; run directly when the unit is not active.
        f"if systemctl -q is-active {BOOT_UNIT}; then systemctl stop {BOOT_UNIT}; else {BOOT_SCRIPT} stop; fi"
    )
    # Never take o2cb away from a mounted volume, nor go on while DRBD is still up.
    yield StringCommand(
        "if grep -q ' ocfs2 ' /proc/mounts; then echo 'an OCFS2 volume is still mounted' >&2; exit 1; fi"
    )
    yield StringCommand("systemctl", "stop", O2CB_SERVICE)


@operation(is_idempotent=False)
def back_in_service() -> Generator[StringCommand, None, None]:
    """Bring this node back over the new link: o2cb online, then the boot unit's start."""
    yield StringCommand("systemctl", "start", O2CB_SERVICE)
    yield StringCommand("systemctl", "start", BOOT_UNIT)
    # The unit is oneshot: a start that failed leaves it inactive and says why.
    yield StringCommand(f"systemctl -q is-active {BOOT_UNIT}")


def fact_reads(config: StorageConfig) -> FactReads:
    return FactReads(
        files=[INTERFACES_FILE] if config.replication_link.mode == "backlink" else [],
        lines=[("/etc/network/interfaces", "^source /etc/network/interfaces.d/\\*$", False)]
        if config.replication_link.mode == "backlink"
        else [],
        facts=[(ReplicationLink, {})],
    )


@deploy("Replication link")
def configure_replication_link(config: StorageConfig, move: LinkMove) -> None:
    """
    Before DRBD and OCFS2 rewrite their files: the interface, and taking the node out for a move.

    + move: link_move(config), planned once for the whole run
    """
    prefetch_reads(host, fact_reads(config))
    link = config.replication_link
    this = next(node for node in config.nodes if node.name == host.name)
    peer = config.peer_of(host.name)
    stop(move.problems)
    if link.mode == "backlink" and this.link_address is not None and peer.link_address is not None:
        # Debian's own /etc/network/interfaces has this line; an installer's may not.
        files.line(
            name="/etc/network/interfaces reads interfaces.d",
            path="/etc/network/interfaces",
            line="^source /etc/network/interfaces.d/\\*$",
            replace="source /etc/network/interfaces.d/*",
        )
        stanza = files.template(
            name=f"Back-to-back link on {link.interface}",
            src=str(TEMPLATES / "interface.j2"),
            dest=INTERFACES_FILE,
            interface=link.interface,
            address=f"{this.link_address}/{link.prefix_length}",
        )
        interface_address(
            name=f"{link.interface} up with {this.link_address}",
            interface=link.interface,
            address=str(this.link_address),
            changed=stanza.will_change,
        )
        if move.needed:
            peer_reachable(
                name="The peer answers on the back-to-back link", peer=peer.name, address=str(peer.link_address)
            )
    if move.needed:
        for difference in move.reasons:
            host.log(f"out of service for this: {difference}", logger.warning)
        nothing_holds(
            name="Nothing else uses the OCFS2 volumes",
            mount_points=config.ocfs2_mounts,
            purpose="the move",
        )
        out_of_service(name=f"{move_title(config, move)}: take the node out of service", reasons=move.reasons)


@deploy("Replication link: back in service")
def finish_link_move(move: LinkMove) -> None:
    """
    After DRBD, OCFS2, unison, NFS and the boot unit have their new files: the node comes back.

    + move: the same plan configure_replication_link acted on
    """
    if move.needed:
        what = "over the new link" if move.moves_link else "with the new o2cb timeouts"
        back_in_service(name=f"Bring the node back into service {what}")
