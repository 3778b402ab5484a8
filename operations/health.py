"""The health report of a storage pair: one table per pair, and a failure when it is not healthy.

Reads both nodes' DRBD, o2cb, mounts, exports and unison state (each node in one prefetch
command), prints one table per pair and stops with the list of problems when there are any,
so `pyinfra inventory.py status.py` exits non-zero from cron or a monitoring check.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, replace

from pyinfra import host, inventory, logger, state
from pyinfra.api import OperationError, QuoteString, StringCommand, deploy, operation
from pyinfra.api.exceptions import PyinfraError

from facts.boot import BootWait, BootWaitState
from facts.drbd import DrbdResources, DrbdResourceState
from facts.health import SPLIT_BRAINS_SEEN, StorageHealth, StorageHealthState
from facts.nfs import NfsExports, NfsExportsState
from facts.ocfs2 import Ocfs2, Ocfs2State
from operations.boot import waiting_text
from operations.report import utc
from operations.util import operation_script
from twinstore.config import NfsExport, SiteConfig, StorageConfig
from twinstore.fact_cache import prefetch


@dataclass(frozen=True)
class NodeHealth:
    drbd: dict[str, DrbdResourceState]
    ocfs2: Ocfs2State
    exports: NfsExportsState
    storage: StorageHealthState
    boot: BootWaitState


def read_node_health(config: StorageConfig, name: str) -> NodeHealth | None:
    """One node's state in one round trip; None when it cannot be reached."""
    node_host = inventory.get_host(name)
    drbd_args = {"resources": config.drbd_fact_resources}
    ocfs2_args = {"cluster": config.ocfs2_cluster.name, "devices": config.ocfs2_devices}
    exports_args = {"paths": [export.path for export in config.nfs_exports]}
    storage_args = {
        "cluster": config.ocfs2_cluster.name,
        "last_run_file": config.sync_record_on(name),
        "mount_points": config.volume_mounts,
    }
    try:
        prefetch(
            node_host,
            [
                (DrbdResources, drbd_args),
                (Ocfs2, ocfs2_args),
                (NfsExports, exports_args),
                (StorageHealth, storage_args),
                (BootWait, {}),
            ],
        )
        return NodeHealth(
            drbd=node_host.get_fact(DrbdResources, **drbd_args),
            ocfs2=node_host.get_fact(Ocfs2, **ocfs2_args),
            exports=node_host.get_fact(NfsExports, **exports_args),
            storage=node_host.get_fact(StorageHealth, **storage_args),
            boot=node_host.get_fact(BootWait),
        )
    except PyinfraError:
        return None


def serving(state: DrbdResourceState) -> bool:
    """Connected, both Primary and UpToDate, or so while an online verify runs (it reads, the pair serves)."""
    if state.connection in ("VerifyS", "VerifyT"):
        return replace(state, connection="Connected").healthy
    return state.healthy


def in_split_brain(state: DrbdResourceState) -> bool:
    """
    A split brain that still stands: the kernel reported one since boot and the resource has
    not connected since (a connected resource has resolved it, by policy or by hand).
    """
    return state.split_brain_reported and state.connection != "Connected"


def age(seconds: int) -> str:
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 2 * 86400:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} days"


def missing_clients(export: NfsExport, exported_to: frozenset[str], default_clients: list[str]) -> list[str]:
    """The clients the configuration exports a path to that the kernel does not (exportfs -s)."""
    return [client for client, _ in export.entries(default_clients) if client not in exported_to]


def fencing_problems(config: StorageConfig, name: str, node: NodeHealth) -> list[str]:
    """Frozen I/O, and why: the fence-peer handler's last fencing; a peer it powered off."""
    problems = []
    last = node.storage.last_fencing
    peer = config.peer_of(name).name
    frozen = [resource for resource, drbd in node.drbd.items() if drbd.io_suspended]
    if frozen:
        if last is not None and last.outcome in ("failed", "fencing"):
            why = (
                f"fencing {peer} {'failed' if last.outcome == 'failed' else 'has not finished'} ({last.when}, "
                "journalctl -t twinstore-fence-peer)"
            )
        else:
            why = "DRBD suspended it (journalctl -k)"
        problems.append(
            f"{name}: I/O on {', '.join(frozen)} is frozen: {why}. Nothing is written until {peer} is known to be "
            f"off: make sure it is (its power, its BMC), then `drbdadm resume-io all` on {name} (README, Fencing)"
        )
    connected = all(drbd.connection == "Connected" for drbd in node.drbd.values())
    if last is not None and last.outcome == "fenced" and not connected:
        problems.append(f"{name} powered {last.peer} off at {last.when} (fencing after the replication link failed)")
    return problems


def pair_problems(config: StorageConfig, nodes: dict[str, NodeHealth | None], default_clients: list[str]) -> list[str]:
    """Everything that keeps the pair from being healthy, one sentence each."""
    problems = []
    wanted_mounts = config.volume_mounts
    for name, node in nodes.items():
        if node is None:
            problems.append(f"{name} cannot be reached")
            continue
        if node.boot.waiting:
            problems.append(f"{name}: twinstore-storage.service is {waiting_text(node.boot)}")
        for event in node.storage.split_brains:
            at = utc(event.when)
            outcome = {
                "automatically": "resolved by DRBD's after-sb policy (with twinstore's policies: one side had "
                "written nothing since, so nothing was lost)",
                "manually": "resolved by hand (split_brain_discard: the named node's changes were discarded)",
            }.get(event.outcome, "not resolved: the resource stays StandAlone until --data split_brain_discard=NODE")
            problems.append(
                f"{name}: {event.resource} had a split brain at {at}, {outcome}. Reported once: the next "
                "report counts only newer ones"
            )
        problems += fencing_problems(config, name, node)
        for resource, drbd in node.drbd.items():
            if in_split_brain(drbd):
                problems.append(f"{name}: {resource} reports a split brain")
            if not serving(drbd) or drbd.out_of_sync_kib:
                problems.append(f"{name}: {resource} is {drbd.summary()}")
        if not node.ocfs2.online:
            problems.append(f"{name}: the o2cb cluster {config.ocfs2_cluster.name} is not online")
        elif node.ocfs2.timeouts != config.ocfs2_cluster.timeouts:
            problems.append(
                f"{name}: o2cb runs with {timeouts_text(node.ocfs2.timeouts)}, group_data says "
                f"{timeouts_text(config.ocfs2_cluster.timeouts)} (a deploy of both nodes applies them)"
            )
        for mount_point in wanted_mounts:
            if mount_point not in node.storage.volumes:
                problems.append(f"{name}: {mount_point} is not mounted")
        # With I/O frozen the export paths are not resolved (fencing_problems says why).
        for export in config.nfs_exports if not node.exports.frozen else ():
            resolved = node.exports.resolved.get(export.path)
            if resolved is None or resolved not in node.exports.exported:
                problems.append(f"{name}: {export.path} is not exported")
                continue
            missing = missing_clients(export, node.exports.clients.get(resolved, frozenset()), default_clients)
            if missing:
                problems.append(f"{name}: {export.path} is not exported to {', '.join(missing)}")
        if name == config.unison.client:
            last = node.storage.last_sync
            if last is None:
                problems.append(f"{name}: unison has never synced {config.unison.volume}")
            else:
                when, status = last
                if status > 1:
                    problems.append(f"{name}: the last unison sync failed (exit status {status})")
                if node.storage.now - when > config.unison.max_age_hours * 3600:
                    problems.append(
                        f"{name}: the last unison sync ran {age(node.storage.now - when)} ago "
                        f"(more than {config.unison.max_age_hours} h)"
                    )
    running = {name: node.ocfs2.timeouts for name, node in nodes.items() if node is not None and node.ocfs2.online}
    if len(running) == 2 and len({tuple(sorted(timeouts.items())) for timeouts in running.values()}) == 2:
        problems.append(
            "o2cb timeouts differ between the nodes ("
            + "; ".join(f"{name} {timeouts_text(timeouts)}" for name, timeouts in running.items())
            + "): o2cb connects only nodes with the same network timeouts, and fences by the threshold"
        )
    return problems + verify_problems(config, nodes)


def verify_problems(config: StorageConfig, nodes: dict[str, NodeHealth | None]) -> list[str]:
    """What the scheduled verify found that still stands, and resources it has not verified for
    longer than verify.max_age_days (counted from when the schedule was set, before a first one)."""
    name = config.verifier
    node = nodes.get(name)
    if config.verify.schedule is None or node is None:
        return []
    storage = node.storage
    if storage.verify_scheduled is None:
        return [f"{name}: no verify timer (twinstore-verify.timer; a deploy installs it)"]
    problems = []
    for resource in config.drbd_resources:
        done = storage.verifies.get(f"{resource}.done")
        still = [other for other, health in nodes.items() if health is not None and oos_of(health, resource)]
        if done is not None and done.out_of_sync_kib and still:
            found = done.out_of_sync_kib
            problems.append(
                f"{resource}: the verify of {utc(done.end)} found {found} KiB ({found // 4} block(s) "
                f"of 4 KiB) that differ between the nodes, still out of sync on {', '.join(still)}. DRBD cannot tell "
                "which copy is right: on the node whose copy is to be replaced, `systemctl restart twinstore-storage` "
                "takes it out of service and back, and it resyncs only those blocks from its peer (README, Scheduled "
                "verify)"
            )
        since = max(done.end if done else 0, storage.verify_scheduled)
        if storage.now - since > config.verify.max_age_days * 86400:
            what = (
                f"was last verified {age(storage.now - since)} ago"
                if done
                else f"has not been verified in the {age(storage.now - since)} since the verify was scheduled"
            )
            problems.append(
                f"{name}: {resource} {what} (more than verify.max_age_days, {config.verify.max_age_days}; "
                f"journalctl -u twinstore-verify on {name})"
            )
    return problems


def oos_of(node: NodeHealth, resource: str) -> int:
    state = node.drbd.get(resource)
    return state.out_of_sync_kib if state is not None and state.out_of_sync_kib else 0


def timeouts_text(timeouts: dict[str, int]) -> str:
    return ", ".join(f"{name} {value}" for name, value in sorted(timeouts.items()))


def verdict(nodes: dict[str, NodeHealth | None], problems: list[str]) -> str:
    """The pair's state in a few words: a node that cannot be reached makes it degraded, not unknown."""
    if not problems:
        return "HEALTHY"
    unreachable = [name for name, node in nodes.items() if node is None]
    count = f"{len(problems)} problem(s)"
    if unreachable:
        return f"DEGRADED, {' and '.join(unreachable)} unreachable ({count})"
    return f"NOT HEALTHY ({count})"


def notifications(config: StorageConfig) -> str:
    """Where DRBD's split-brain notices to root go: to a person, or nowhere."""
    if config.mail_relay is None:
        return (
            "notifications: GO NOWHERE: no mail_relay is configured, so DRBD's split-brain notices "
            "and all other mail to root stay unsent (set mail_relay in group_data/storage.py)"
        )
    return f"notifications: mailed to root through the relay {config.mail_relay}"


def quota_note(nodes: dict[str, NodeHealth | None]) -> str:
    """The OCFS2 volumes still made with quota accounting, which a double power cut can hang at mount."""
    volumes = sorted(
        {
            mount_point
            for node in nodes.values()
            if node is not None
            for mount_point, usage in node.storage.volumes.items()
            if usage.quota_accounting
        }
    )
    if not volumes:
        return ""
    return (
        f"\nquota accounting: ON on {' '.join(volumes)} (made before twinstore left it out): after both nodes "
        "lose power, a node's mount can deadlock in OCFS2's quota recovery; nothing uses it, and it can be "
        "turned off while the volume is unmounted on both nodes (README, OCFS2 quota accounting)"
    )


def row_labels(config: StorageConfig) -> list[str]:
    return [
        "boot",
        *(f"DRBD {resource}" for resource in config.drbd_resources),
        "o2cb",
        *config.volume_mounts,
        "exports",
        "unison",
        *(f"verify {resource}" for resource in config.drbd_resources),
    ]


def node_cells(config: StorageConfig, node: NodeHealth, is_client: bool, is_verifier: bool = False) -> list[str]:
    """One node's column, in the order of row_labels."""
    return [
        boot_cell(node.boot),
        *(drbd_cell(node.drbd.get(resource)) for resource in config.drbd_resources),
        o2cb_cell(node),
        *(volume_cell(node.storage, mount_point) for mount_point in config.volume_mounts),
        exports_cell(config, node.exports),
        unison_cell(node.storage, is_client),
        *(verify_cell(config, node.storage, resource, is_verifier) for resource in config.drbd_resources),
    ]


def pair_table(config: StorageConfig, nodes: dict[str, NodeHealth | None]) -> str:
    """One row per resource, volume and service; one column per node."""
    labels = row_labels(config)
    columns = [
        node_cells(config, node, name == config.unison.client, name == config.verifier)
        if node
        else ["unreachable"] * len(labels)
        for name, node in nodes.items()
    ]
    rows = [["", *nodes], *([label, *cells] for label, *cells in zip(labels, *columns, strict=True))]
    widths = [max(len(line[column]) for line in rows) for column in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip() for line in rows
    )


def boot_cell(boot: BootWaitState) -> str:
    if not boot.waiting:
        return "-"
    return f"WAITING for the peer since {utc(boot.since or 0, '%H:%M')}"


def drbd_cell(state: DrbdResourceState | None) -> str:
    if state is None or not state.configured:
        return "down"
    flag = ", SPLIT BRAIN" if in_split_brain(state) else ""
    return (
        f"{state.connection} {state.role}/{state.peer_role} {state.disk}/{state.peer_disk}"
        f" oos {state.out_of_sync_kib} KiB{flag}"
    )


def o2cb_cell(node: NodeHealth) -> str:
    if not node.ocfs2.online:
        return "offline"
    return f"online, {len(node.ocfs2.cluster_members)} nodes, heartbeat on {node.storage.heartbeat_regions} volume(s)"


def volume_cell(storage: StorageHealthState, mount_point: str) -> str:
    usage = storage.volumes.get(mount_point)
    if usage is None:
        return "NOT MOUNTED"
    if usage.frozen:
        return f"{usage.fs_type}, FROZEN (I/O suspended)"
    quota = ", quota accounting ON" if usage.quota_accounting else ""
    return f"{usage.fs_type}, {usage.free_kib // 1024} of {usage.size_kib // 1024} MiB free{quota}"


def exports_cell(config: StorageConfig, exports: NfsExportsState) -> str:
    if exports.frozen:
        return "not checked: I/O frozen"
    wanted = [export.path for export in config.nfs_exports]
    exported = [path for path in wanted if exports.resolved.get(path) in exports.exported]
    missing = sorted(set(wanted) - set(exported))
    return f"{len(exported)}/{len(wanted)} exported" + (f", missing {' '.join(missing)}" if missing else "")


def unison_cell(storage: StorageHealthState, is_client: bool) -> str:
    if storage.last_sync is None:
        return "never synced" if is_client else "-"
    when, status = storage.last_sync
    result = {0: "ok", 1: "ok, conflicts skipped"}.get(status, f"FAILED (exit {status})")
    return f"last sync {age(storage.now - when)} ago, {result}"


def verify_cell(config: StorageConfig, storage: StorageHealthState, resource: str, is_verifier: bool) -> str:
    if not is_verifier or config.verify.schedule is None:
        return "-"
    last = storage.verifies.get(resource)
    if last is None:
        return f"never (scheduled {config.verify.schedule})"
    found = "" if last.out_of_sync_kib is None else f", {last.out_of_sync_kib} KiB out of sync"
    text = f"{last.result} {age(storage.now - last.end)} ago{found}"
    done = storage.verifies.get(f"{resource}.done")
    if last.result != "done" and done is not None:
        text += f"; last done {age(storage.now - done.end)} ago"
    return text


@operation()
def pair_healthy(pair: str, problems: list[str]) -> Generator[StringCommand, None, None]:
    """
    Stop with the pair's problems, so the run exits non-zero; say so when there are none.

    + pair: the pair's node names, for the messages
    + problems: what keeps the pair from being healthy
    """
    if problems:
        raise OperationError(f"{pair} is not healthy: " + "; ".join(problems))
    host.noop(f"{pair} is healthy")
    yield from ()


@operation()
def split_brains_reported(newest: int, seen_file: str) -> Generator[StringCommand, None, None]:
    """
    Remember the newest split brain this report showed, so that the next one reports only newer ones.

    + newest: when it happened, in seconds since the epoch (0: none to remember)
    + seen_file: where the node keeps it
    """
    if not newest:
        host.noop("no split brain to report")
        return
    yield StringCommand("mkdir", "-p", QuoteString(seen_file.rsplit("/", 1)[0]))
    yield operation_script("write_value", seen_file, int(newest))


@deploy("Health of the storage pair")
def report_health(config: StorageConfig, site: SiteConfig) -> None:
    names = config.node_names
    # Every node remembers the split brains this run reports from its own kernel log.
    own = read_node_health(config, host.name)
    split_brains_reported(
        name="Split brains reported",
        newest=max((event.when for event in own.storage.split_brains), default=0) if own else 0,
        seen_file=SPLIT_BRAINS_SEEN,
    )
    # One report per pair: made by the first of its nodes that this run targets and reached.
    reporters = [
        name
        for name in names
        if state.is_host_in_limit(inventory.get_host(name)) and inventory.get_host(name) in state.active_hosts
    ]
    if not reporters or host.name != reporters[0]:
        return
    nodes = {name: read_node_health(config, name) for name in names}
    problems = pair_problems(config, nodes, [str(site.client_network)])
    pair = " + ".join(names)
    logger.info(
        f"\n--> Storage pair {pair}: {verdict(nodes, problems)}\n{pair_table(config, nodes)}\n{notifications(config)}"
        f"{quota_note(nodes)}\n"
    )
    pair_healthy(name=f"Pair {pair} is healthy", pair=pair, problems=problems)
