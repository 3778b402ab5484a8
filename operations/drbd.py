"""DRBD 8.4 dual-primary resources: configuration, and the way each resource comes to life.

Every destructive step is decided from facts of both nodes, before anything runs:

* new pair: both backing volumes blank and both nodes in this run -> zeros written over both
  (locally, at once: the two copies are then the same without a sync, and a verify finds
  them so), create-md on both, up, wait for the connection, ``new-current-uuid
  --clear-bitmap`` on the first node (no initial sync), primary on both;
* one-legged start: only on the node the user names (``--data first_leg=NODE``);
* second-leg join: this node is blank and the peer is up with UpToDate data -> create-md,
  up, and the full sync runs; the first run after the sync promotes;
* split brain: only with the node named by the user (``--data split_brain_discard=NODE``),
  and only when the other node holds UpToDate data -> NODE demotes, reconnects with
  ``--discard-my-data`` and becomes the sync target; the other node reconnects. The first run
  after the resync promotes NODE again.

Anything else that would need a destructive step (a filesystem on the backing volume, a
peer that cannot be reached, StandAlone or split brain) stops the run with a message.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from pathlib import Path

from pyinfra import host, inventory, logger, state
from pyinfra.api import QuoteString, StringCommand, deploy, operation
from pyinfra.api.exceptions import PyinfraError
from pyinfra.facts.server import KernelModules
from pyinfra.operations import files, server
from pyinfra.operations.util import any_changed

from facts.boot import PreviousBoot
from facts.drbd import DRBDMETA_CHECKED_BYTES, DrbdResources, DrbdResourceState, usable_bytes
from facts.lvm import LvmReport
from operations.fencing import FENCE_PEER, PROMOTE_ALONE_FLAG
from operations.report import utc
from operations.util import (
    VolumeSize,
    drbd_grows,
    operation_script,
    private_template,
    refuse_unless_blank,
    unit_state,
    volume_size,
)
from twinstore.config import StorageConfig
from twinstore.fact_cache import FactReads, prefetch_reads
from twinstore.validation import Problem, host_source, stop

TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "drbd"
CONNECT_TIMEOUT_S = 120
PROMOTE_TIMEOUT_S = 120
# How long a resize waits for DRBD to grow the device (the peer's agreement to the new size).
RESIZE_TIMEOUT_S = 120


@dataclass
class ResourcePlan:
    """What one node does for one resource in this run."""

    name: str
    create_metadata: bool = False
    # A new pair's backing volume written with zeros before its metadata: no initial sync makes
    # the two copies the same, so this does (a blank volume still holds what the disk held).
    zero_backing: bool = False
    bring_up: bool = False
    wait_connected: bool = False
    clear_bitmap: bool = False
    force_primary: bool = False
    # Split-brain recovery: this node's changes are thrown away / this node keeps its own.
    discard_my_data: bool = False
    reconnect: bool = False
    promote: bool = False
    # promote_alone: this node's copy becomes the pair's data, its peer being gone for good.
    promote_alone: bool = False
    # Logged as a warning: why nothing (more) happens, e.g. sync progress.
    note: str | None = None
    problems: list[Problem] = field(default_factory=list)


def _is_fresh(resource: DrbdResourceState | None) -> bool:
    """Holds no data at all: no device yet, a blank device, metadata never used, or both sides Inconsistent."""
    if resource is None:
        return False
    if not resource.configured:
        if not resource.backing_exists or resource.backing_blank:
            return True
        return resource.has_metadata and resource.never_used
    return (
        resource.disk == "Inconsistent"
        # A sync that began gave it a UUID: a partial copy is not new (lab-notes: never force it).
        and resource.never_used
        and resource.role == "Secondary"
        and resource.connection in ("Connected", "WFConnection")
        and resource.peer_disk in ("Inconsistent", "DUnknown")
    )


def plan_resource(
    name: str,
    host_name: str,
    first_node: str,
    peer_name: str,
    local: DrbdResourceState,
    peer: DrbdResourceState | None,
    peer_targeted: bool,
    first_leg: str | None,
    source: str = "group_data/storage.py",
    split_brain_discard: str | None = None,
    promote_alone: str | None = None,
) -> ResourcePlan:
    """Decide, from both nodes' facts, what this node does for one resource."""
    plan = ResourcePlan(name)
    peer_text = peer.summary() if peer is not None else "unreachable"
    where = f"{name} on {host_name}"

    def refuse(rule: str, field_name: str = f"drbd_resources.{name}") -> ResourcePlan:
        plan.problems.append(
            Problem(source, field_name, f"({host_name}: {local.summary()}; {peer_name}: {peer_text})", rule)
        )
        return plan

    if is_split(local, peer):
        if split_brain_discard is None:
            split = " and the kernel reported a split brain" if local.split_brain_reported else ""
            return refuse(
                f"{where} is {local.connection}{split}. twinstore never discards data by itself: compare both "
                "nodes, decide which node's changes to throw away, and name it: --data split_brain_discard=NODE "
                "(preview with --dry)",
                "split_brain_discard",
            )
        return plan_split_brain_recovery(
            plan, where, host_name, peer_name, local, peer, peer_targeted, split_brain_discard, refuse
        )
    if local.configured and local.disk == "Diskless":
        return refuse(f"{where} is up without its backing disk; attach it (drbdadm attach {name}) or investigate")
    if local.partial_copy and not _connected(local):
        # Named after the switch that asked to force it, if one did: neither applies to a partial copy.
        asked = [key for key, node in (("promote_alone", promote_alone), ("first_leg", first_leg)) if node == host_name]
        return refuse(
            f"{where} holds a partial copy: a sync from {peer_name} began and stopped ({local.summary()}); "
            f"it is not a whole file system and can never serve alone. Bring {peer_name} back (or reconnect "
            "the cable): the sync resumes where it stopped",
            asked[0] if asked else f"drbd_resources.{name}",
        )

    if _is_fresh(local):
        if peer is not None and _is_fresh(peer) and peer_targeted:
            plan.create_metadata = not local.configured and not local.has_metadata
            plan.zero_backing = plan.create_metadata
            plan.bring_up = not local.configured
            plan.wait_connected = True
            plan.clear_bitmap = host_name == first_node
            plan.promote = True
            return plan
        if first_leg == host_name and (peer is None or _is_fresh(peer)):
            plan.create_metadata = not local.configured and not local.has_metadata
            plan.bring_up = not local.configured
            plan.force_primary = True
            return plan
        if _peer_serves(peer):
            plan.create_metadata = not local.configured and not local.has_metadata
            plan.bring_up = not local.configured
            plan.note = (
                f"{where} joins {peer_name}: the full sync starts now; the first run after it promotes {host_name}"
            )
            return plan
        if peer is None:
            return refuse(
                f"{peer_name} cannot be reached, so twinstore cannot know whether it holds data for {name}. "
                f"To start on {host_name} alone, run with --limit {host_name} --data first_leg={host_name}",
                "first_leg",
            )
        if _is_fresh(peer):
            return refuse(
                f"both nodes are new. Run without --limit to create the pair with no initial sync, "
                f"or start on one node with --limit {host_name} --data first_leg={host_name}",
                "first_leg",
            )
        if first_leg == host_name:
            return refuse(f"first_leg={host_name}, but {peer_name} already holds DRBD metadata for {name}", "first_leg")
        return refuse(
            f"{peer_name} holds DRBD metadata for {name} but is not up with UpToDate data; deploy {peer_name} first"
        )
    if promote_alone == host_name:
        return plan_promote_alone(plan, where, host_name, peer_name, local, peer, refuse)

    if not local.configured:
        if local.has_metadata:
            plan.bring_up = True
            attach = local.disk_at_attach
            if attach == "UpToDate" or _peer_serves(peer):
                plan.promote = True
            else:
                plan.note = waiting_note(where, host_name, peer_name, attach or "of unknown state", peer)
            return plan
        return refuse(backing_not_blank(where, local))

    if local.role != "Primary":
        if local.disk == "UpToDate":
            plan.promote = True
        elif _connected(local):
            plan.note = f"{where}: {local.summary()}; it is promoted by the first run after the sync"
        else:
            plan.note = waiting_note(where, host_name, peer_name, str(local.disk), peer)
        return plan
    if not local.healthy:
        plan.note = f"{where}: {local.summary()}"
    return plan


# Connection states in which the peer is there: connected, or copying data one way.
CONNECTED_STATES = (
    "Connected",
    "SyncSource",
    "SyncTarget",
    "PausedSyncS",
    "PausedSyncT",
    "StartingSyncS",
    "StartingSyncT",
    "WFBitMapS",
    "WFBitMapT",
    "WFSyncUUID",
    "VerifyS",
    "VerifyT",
)


def _connected(resource: DrbdResourceState) -> bool:
    return resource.connection in CONNECTED_STATES


def _peer_serves(peer: DrbdResourceState | None) -> bool:
    """The peer is up with UpToDate data: a node that comes up connects and catches up from it."""
    return peer is not None and peer.configured and peer.disk == "UpToDate" and peer.connection != "StandAlone"


def waiting_note(where: str, host_name: str, peer_name: str, disk: str, peer: DrbdResourceState | None) -> str:
    """Why a node that cannot see its peer is not promoted, and the way out if the peer is gone for good."""
    if disk == "Outdated":
        why = f"{peer_name} had newer data when {host_name} left"
    else:
        why = f"{host_name} was in step with {peer_name} when it went down, and {peer_name} may have written since"
    seen = "cannot be reached" if peer is None else f"is {peer.summary()}"
    return (
        f"{where} waits for {peer_name}, which {seen}: its copy is {disk} ({why}); promoting it alone could "
        f"throw away {peer_name}'s newer writes. It is promoted once they connect. If {peer_name} is gone for "
        f"good: --data promote_alone={host_name} (preview with --dry)"
    )


def plan_promote_alone(
    plan: ResourcePlan,
    where: str,
    host_name: str,
    peer_name: str,
    local: DrbdResourceState,
    peer: DrbdResourceState | None,
    refuse: Callable[[str, str], ResourcePlan],
) -> ResourcePlan:
    """The user declared the peer gone for good: this node's copy becomes the pair's data, if it is whole."""
    field_name = "promote_alone"
    if peer is not None:
        return refuse(
            f"promote_alone={host_name}: {peer_name} can be reached ({peer.summary()}); promote_alone is only for "
            f"a peer that is gone for good. Bring {peer_name}'s DRBD up instead: the nodes connect and the newer "
            "copy wins with nothing lost",
            field_name,
        )
    if local.configured and local.role == "Primary":
        plan.note = f"{where} is already Primary: {local.summary()}"
        return plan
    disk = local.disk if local.configured else local.disk_at_attach
    if local.configured and _connected(local):
        return refuse(
            f"promote_alone={host_name}: {where} is connected ({local.summary()}); nothing is forced", field_name
        )
    if disk not in ("UpToDate", "Consistent", "Outdated"):
        return refuse(
            f"promote_alone={host_name}: {where} is {disk or local.summary()}: not a whole copy; nothing is forced",
            field_name,
        )
    plan.bring_up = not local.configured
    plan.promote_alone = True
    since = (
        f"{peer_name} had newer data when {host_name} left, which is given up"
        if disk == "Outdated"
        else f"whatever {peer_name} wrote after {host_name} lost it is given up"
    )
    comes_back = (
        f"when {peer_name} comes back it stops as a split brain (its copy was newer)"
        if disk == "Outdated"
        else f"when {peer_name} comes back it resyncs from {host_name}, or stops as a split brain if it changed "
        "anything"
    )
    plan.note = f"{where}: its {disk} copy becomes the pair's data ({since}); {comes_back}"
    return plan


def is_split(local: DrbdResourceState, peer: DrbdResourceState | None) -> bool:
    """Disconnected for good: StandAlone here, or waiting here for a peer that is StandAlone."""
    if not local.configured:
        return False
    if local.connection == "StandAlone":
        return True
    return local.connection == "WFConnection" and peer is not None and peer.connection == "StandAlone"


def plan_split_brain_recovery(
    plan: ResourcePlan,
    where: str,
    host_name: str,
    peer_name: str,
    local: DrbdResourceState,
    peer: DrbdResourceState | None,
    peer_targeted: bool,
    discard: str,
    refuse: Callable[[str, str], ResourcePlan],
) -> ResourcePlan:
    """The user named the node whose changes go: check the kept side is whole, then plan both sides."""
    field_name = "split_brain_discard"
    if peer is None or not peer_targeted:
        return refuse(
            f"split_brain_discard={discard}: both {host_name} and {peer_name} must be in this run "
            "(no --limit), so that the kept side reconnects too",
            field_name,
        )
    keeper, kept = (peer_name, peer) if discard == host_name else (host_name, local)
    if kept.disk != "UpToDate":
        return refuse(
            f"split_brain_discard={discard}: {keeper} is {kept.summary()}, so its copy of {plan.name} is not "
            f"whole; discarding {discard}'s changes would leave no good copy. Nothing is discarded",
            field_name,
        )
    if discard == host_name:
        if local.mount_point is not None:
            return refuse(
                f"split_brain_discard={discard}: /dev/drbd{local.minor} is mounted on {local.mount_point} on "
                f"{host_name}. Stop exporting and unmount it there first: its contents are replaced by "
                f"{peer_name}'s",
                field_name,
            )
        plan.discard_my_data = True
        plan.note = (
            f"{where}: its changes since the split are discarded; it resyncs from {peer_name} "
            "and the first run after the resync promotes it"
        )
        return plan
    plan.reconnect = local.connection == "StandAlone"
    plan.note = f"{where} keeps its data; {discard} resyncs from it"
    return plan


def backing_not_blank(where: str, local: DrbdResourceState) -> str:
    """Why create-md may not run on this backing volume, and what the administrator can do."""
    if local.backing_signature is None and local.backing_blkid_status == 2:
        kib = DRBDMETA_CHECKED_BYTES // 1024
        return (
            f"{where}: the backing volume has no signature blkid knows, but its first "
            f"{kib} KiB are not zero, so it may hold data; create-md would overwrite it. "
            "If its data is not needed, zero its start by hand "
            f"(dd if=/dev/zero of={local.backing_device} bs=1K count={kib} oflag=direct) and run again"
        )
    found = local.backing_signature or "a signature blkid cannot name"
    return (
        f"{where}: the backing volume holds {found}; create-md would overwrite it. "
        "If its data is not needed, wipe it by hand (wipefs -a, then zero its start) and run again"
    )


def plan_resize(
    name: str,
    host_name: str,
    first_node: str,
    peer_name: str,
    local: DrbdResourceState,
    peer: DrbdResourceState | None,
    peer_targeted: bool,
    backing: VolumeSize,
    source: str = "group_data/storage.py",
) -> tuple[bool, list[Problem]]:
    """Whether this node resizes a serving resource to its grown backing volumes in this run (the
    first node does, once for the pair), and what stops it: DRBD 8.4 grows only a Connected pair
    with both disks UpToDate, so the peer must be in the run and no resync or verify may run."""
    if not local.configured or not drbd_grows(local.size, backing):
        return False, []
    grown = f"{usable_bytes(backing.wanted) // 1024**2} MiB"
    where = f"{name} ({local.size // 1024**2} MiB, to grow to {grown})"
    value = f"({host_name}: {local.summary()}; {peer_name}: {peer.summary() if peer is not None else 'unreachable'})"
    problems = []
    if peer is None or not peer_targeted:
        why = "cannot be reached" if peer is None else "is not in this run (--limit)"
        problems.append(
            Problem(
                source,
                f"drbd_resources.{name}",
                value,
                f"growing {where} needs both nodes in the run, and {peer_name} {why}: its backing volume "
                "grows too, then DRBD once for the pair. Run without --limit once both nodes are up",
            )
        )
    elif local.connection != "Connected" or local.disk != "UpToDate" or local.peer_disk != "UpToDate":
        problems.append(
            Problem(
                source,
                f"drbd_resources.{name}",
                value,
                f"growing {where} needs the pair Connected with both disks UpToDate and no resync or verify "
                "running (DRBD 8.4 refuses otherwise); wait until status.py says HEALTHY and run again",
            )
        )
    return host_name == first_node and not problems, problems


def resource_commands(name: str) -> dict[str, StringCommand]:
    """The host-side steps and guards of a resource's operations (operations/scripts/drbd_*.sh):
    a guard runs right before its step and re-checks what the facts promised."""
    return {
        "wait_connected": operation_script("drbd_wait_connected", name, timeout=CONNECT_TIMEOUT_S),
        "wait_up_to_date": operation_script("drbd_wait_up_to_date", name, timeout=PROMOTE_TIMEOUT_S),
        "clear_bitmap_guard": operation_script("drbd_clear_bitmap_guard", name),
        "force_guard": operation_script("drbd_force_guard", name),
        "promote_alone": operation_script("drbd_promote_alone", name, PROMOTE_ALONE_FLAG),
        "standalone_guard": operation_script("drbd_standalone_guard", name),
    }


@operation(is_idempotent=False)
def metadata(resource: str, device: str, zero: bool = False) -> Generator[StringCommand, None, None]:
    """
    Create DRBD metadata on a blank backing device (checked again by blkid and cmp right before).

    + resource: the DRBD resource
    + device: its backing device
    + zero: write zeros over the whole device first (a new pair's two halves, which no sync
      makes the same); the kernel's write-zeroes where the disk offers it, else written out
    """
    yield refuse_unless_blank(device, zero_head_bytes=DRBDMETA_CHECKED_BYTES)
    if zero:
        yield StringCommand("blkdiscard", "--zeroout", QuoteString(device))
    yield StringCommand("drbdadm", "create-md", QuoteString(resource))


@operation(is_idempotent=False)
def up(resource: str) -> Generator[StringCommand, None, None]:
    """
    Attach and connect a resource.

    + resource: the DRBD resource
    """
    yield StringCommand("drbdadm", "up", QuoteString(resource))


@operation(is_idempotent=False)
def resized(resource: str, minor: int) -> Generator[StringCommand, None, None]:
    """
    Grow a Connected, UpToDate resource to its grown backing volumes, from one node for the pair;
    the new space is written with zeros through DRBD instead of resynced
    (operations/scripts/drbd_resize.sh says why).

    + resource: the DRBD resource
    + minor: its minor number
    """
    yield operation_script("drbd_resize", resource, minor, timeout=RESIZE_TIMEOUT_S)


@operation(is_idempotent=False)
def connected(resource: str) -> Generator[StringCommand, None, None]:
    """
    Wait until the resource is connected to its peer.

    + resource: the DRBD resource
    """
    yield resource_commands(resource)["wait_connected"]


@operation(is_idempotent=False)
def initial_generation(resource: str) -> Generator[StringCommand, None, None]:
    """
    Declare two blank, connected halves in step: a new current UUID with a clear bitmap, so nothing is resynced.

    + resource: the DRBD resource
    """
    yield resource_commands(resource)["clear_bitmap_guard"]
    yield StringCommand("drbdadm", "new-current-uuid", "--clear-bitmap", QuoteString(resource))


@operation(is_idempotent=False)
def first_leg_primary(resource: str) -> Generator[StringCommand, None, None]:
    """
    Make a new one-legged resource primary with its data declared good (drbdadm primary --force).

    + resource: the DRBD resource
    """
    yield resource_commands(resource)["force_guard"]
    yield StringCommand("drbdadm", "primary", "--force", QuoteString(resource))


@operation(is_idempotent=False)
def primary_alone(resource: str) -> Generator[StringCommand, None, None]:
    """
    Make this node's whole copy the pair's data while its peer is gone for good.

    + resource: the DRBD resource
    """
    yield resource_commands(resource)["promote_alone"]


@operation(is_idempotent=False)
def discard_my_data(resource: str) -> Generator[StringCommand, None, None]:
    """
    Throw away this node's changes since a split brain: demote, and reconnect as the sync target.

    + resource: the DRBD resource
    """
    yield from discard_commands(resource)


def discard_commands(resource: str) -> list[StringCommand]:
    """The split-brain victim's commands, in order; pyinfra stops at the first that fails."""
    return [
        resource_commands(resource)["standalone_guard"],
        # Fails while the device is open (mounted): nothing is discarded then.
        StringCommand("drbdadm", "secondary", QuoteString(resource)),
        StringCommand("drbdadm", "connect", "--discard-my-data", QuoteString(resource)),
    ]


@operation(is_idempotent=False)
def reconnect(resource: str) -> Generator[StringCommand, None, None]:
    """
    Connect a StandAlone resource again, keeping its data.

    + resource: the DRBD resource
    """
    yield StringCommand("drbdadm", "connect", QuoteString(resource))


@operation(is_idempotent=False)
def primary(resource: str) -> Generator[StringCommand, None, None]:
    """
    Promote a resource once its disk is UpToDate.

    + resource: the DRBD resource
    """
    yield resource_commands(resource)["wait_up_to_date"]
    yield promote_command(resource)


def promote_command(resource: str) -> StringCommand:
    """
    drbdadm primary, tried again twice: when both nodes promote at the same moment, DRBD
    aborts one side ("Concurrent state changes detected and aborted") and only a new attempt
    succeeds. A refusal for any other reason (a disk not good enough) fails all three.
    """
    attempt = ["drbdadm", "primary", QuoteString(resource)]
    return StringCommand(
        *attempt, "||", "{", "sleep", "2;", *attempt, ";", "}", "||", "{", "sleep", "3;", *attempt, ";", "}"
    )


@operation()
def progress(message: str) -> Generator[StringCommand, None, None]:
    """
    Report why a resource needs nothing (more) in this run, e.g. a sync in progress.

    + message: what to report
    """
    # A warning, not host.noop: pyinfra hides noop reasons unless run with -v, and an
    # administrator must see that a resource is still syncing or waiting for its peer.
    host.log(message, logger.warning)
    yield from ()


def read_peer(config: StorageConfig) -> tuple[dict[str, DrbdResourceState] | None, bool]:
    """The peer's DRBD facts, read even when --limit leaves it out; None when it cannot be reached."""
    peer_host = inventory.get_host(config.peer_of(host.name).name)
    targeted = state.is_host_in_limit(peer_host)
    try:
        return peer_host.get_fact(DrbdResources, resources=config.drbd_fact_resources), targeted
    except PyinfraError:
        return None, targeted


def changes_discarded_here(config: StorageConfig) -> set[str]:
    """The resources whose data this node gives up in this run (split_brain_discard names it)."""
    if config.split_brain_discard != host.name:
        return set()
    local = host.get_fact(DrbdResources, resources=config.drbd_fact_resources)
    peer, _ = read_peer(config)
    return {name for name in config.drbd_resources if is_split(local[name], peer.get(name) if peer else None)}


def fact_reads(config: StorageConfig) -> FactReads:
    return FactReads(
        files=[
            "/etc/drbd.d/global_common.conf",
            *(f"/etc/drbd.d/{name}.res" for name in config.drbd_resources),
        ],
        services=["drbd.service"],
        lines=[("/etc/modules-load.d/drbd.conf", "drbd", False)],
        facts=[(DrbdResources, {"resources": config.drbd_fact_resources}), (KernelModules, {}), (LvmReport, {})],
    )


@deploy("DRBD resources")
def configure_drbd(config: StorageConfig) -> None:
    options = config.drbd_options
    prefetch_reads(host, fact_reads(config))
    files.line(name="Load drbd at boot", path="/etc/modules-load.d/drbd.conf", line="drbd")
    server.modprobe(name="Load the drbd module", module="drbd")
    global_file = files.template(
        name="DRBD common settings",
        src=str(TEMPLATES / "global_common.conf.j2"),
        dest="/etc/drbd.d/global_common.conf",
        options=options,
        fence_peer=FENCE_PEER,
        stonith=config.stonith,
    )
    nodes = [{"name": node.name, "address": config.replication_address(node)} for node in config.nodes]
    resource_files = {}
    for name, resource in config.drbd_resources.items():
        # It holds the pair's shared secret.
        resource_files[name] = private_template(
            name=f"DRBD resource {name}",
            src=str(TEMPLATES / "resource.res.j2"),
            dest=f"/etc/drbd.d/{name}.res",
            resource_name=name,
            resource=resource,
            disk=config.mapper_path(resource.backing_volume),
            options=options,
            nodes=nodes,
        )
    # twinstore-storage.service (operations/boot.py) brings the resources up at boot, in
    # order with o2cb and the mounts; drbd.service would promote on its own.
    unit_state(name="drbd.service left to the boot unit", service="drbd.service", running=None, enabled=False)

    local = host.get_fact(DrbdResources, resources=config.drbd_fact_resources)
    peer, peer_targeted = read_peer(config)
    peer_name = config.peer_of(host.name).name
    source = host_source(host, "drbd_resources")
    plans = [
        plan_resource(
            name,
            host.name,
            config.nodes[0].name,
            peer_name,
            local[name],
            peer.get(name) if peer is not None else None,
            peer_targeted,
            config.first_leg,
            source,
            config.split_brain_discard,
            config.promote_alone,
        )
        for name in config.drbd_resources
    ]
    lvm = host.get_fact(LvmReport)
    resizes = {}
    for plan in plans:
        resource = config.drbd_resources[plan.name]
        backing = config.logical_volumes[resource.backing_volume]
        resizes[plan.name], problems = plan_resize(
            plan.name,
            host.name,
            config.nodes[0].name,
            peer_name,
            local[plan.name],
            peer.get(plan.name) if peer is not None else None,
            peer_targeted,
            volume_size(lvm, config.volume_group.name, resource.backing_volume, backing.size),
            source,
        )
        plan.problems += problems
    stop([problem for plan in plans for problem in plan.problems])
    if any(plan.promote_alone for plan in plans):
        # Read only for this decision: what the forced copy holds, in time.
        went_down = host.get_fact(PreviousBoot)
        when = (
            f"at or after {utc(went_down)} (the last entry its journal kept of its previous boot)"
            if went_down is not None
            else "at an unknown time (its journal keeps no earlier boot)"
        )
        for plan in plans:
            if plan.promote_alone and plan.note:
                plan.note += f". {host.name} went down {when}"

    for plan in plans:
        resource = config.drbd_resources[plan.name]
        if local[plan.name].configured:
            server.shell(
                name=f"Apply changed configuration to {plan.name}",
                commands=[f"drbdadm adjust {plan.name}"],
                _if=any_changed(resource_files[plan.name], global_file),
            )
        if plan.create_metadata:
            metadata(
                name=f"Create metadata for {plan.name}"
                + (", its new backing volume written with zeros first" if plan.zero_backing else ""),
                resource=plan.name,
                device=config.mapper_path(resource.backing_volume),
                zero=plan.zero_backing,
            )
        if plan.bring_up:
            up(name=f"Bring {plan.name} up", resource=plan.name)
        if plan.discard_my_data:
            discard_my_data(name=f"Discard {host.name}'s changes to {plan.name}", resource=plan.name)
        if plan.reconnect:
            reconnect(name=f"Reconnect {plan.name}, keeping {host.name}'s data", resource=plan.name)
    for plan in plans:
        if plan.wait_connected:
            connected(name=f"Wait for {plan.name} to connect", resource=plan.name)
    for plan in plans:
        if plan.clear_bitmap:
            initial_generation(name=f"New pair {plan.name}: no initial sync", resource=plan.name)
        if plan.force_primary:
            first_leg_primary(name=f"One-legged start of {plan.name} on {host.name}", resource=plan.name)
        if plan.promote_alone:
            primary_alone(name=f"{host.name} alone serves {plan.name}, its peer gone for good", resource=plan.name)
    for plan in plans:
        if resizes[plan.name]:
            resized(
                name=f"Grow {plan.name} to its grown backing volumes",
                resource=plan.name,
                minor=config.drbd_resources[plan.name].minor,
            )
    for plan in plans:
        if plan.promote:
            primary(name=f"Promote {plan.name}", resource=plan.name)
        if plan.note:
            progress(name=f"State of {plan.name}", message=plan.note)
