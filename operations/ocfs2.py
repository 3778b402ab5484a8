"""OCFS2 on the dual-primary DRBD devices: the o2cb cluster, the file systems and their mounts.

A file system is made once, on one node: the pair's first node when both nodes are Primary
and UpToDate, or the node named by ``first_leg`` during a one-legged start. It is made only
on a device where blkid finds nothing and the first MiB is zero, checked from facts and again
on the host right before mkfs.ocfs2. Mounts happen on every node whose device is Primary.
The fstab entries are ``noauto``: at boot twinstore-storage.service mounts them, after DRBD
and o2cb (operations/boot.py).
"""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path

from pyinfra import host
from pyinfra.api import OperationError, QuoteString, StringCommand, deploy, operation
from pyinfra.operations import files

from facts.boot import MOUNT_LOCK
from facts.lvm import ZERO_HEAD_BYTES, LvmReport
from facts.ocfs2 import QUOTA_FEATURES, Ocfs2, Ocfs2Device
from operations.drbd import changes_discarded_here
from operations.report import report
from operations.util import (
    GROW_SLACK,
    OCFS2_MOUNT_RETRY_S,
    OCFS2_MOUNT_TRIES,
    drbd_grows,
    fstab_match,
    operation_script,
    refuse_unless_blank,
    volume_size,
)
from twinstore.config import StorageConfig
from twinstore.fact_cache import FactReads, prefetch_reads

TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "ocfs2"
O2CB_SERVICE = "o2cb.service"


def filesystem_maker(config: StorageConfig) -> str:
    """The one node that runs mkfs.ocfs2: the one-legged node if named, else the pair's first node."""
    return config.first_leg or config.nodes[0].name


@operation()
def cluster_online(
    cluster: str,
    timeouts: dict[str, int],
    members: dict[str, str],
    devices: list[tuple[str, int]],
    moving: bool = False,
) -> Generator[StringCommand, None, None]:
    """
    Bring the o2cb cluster online with the configured members and timeouts.

    + cluster: the cluster name
    + timeouts: Ocfs2Cluster.timeouts (the heartbeat threshold, idle, keepalive and reconnect delays)
    + members: node name -> address:port
    + devices: (device, minor) of the OCFS2 volumes, to know whether any is mounted
    + moving: the node leaves service in this run for a new link or new timeouts
      (operations/replication.py restarts o2cb)
    """
    ocfs2 = host.get_fact(Ocfs2, cluster=cluster, devices=devices)
    if not ocfs2.online:
        # o2cb.service stays "active" with the cluster offline: only a restart brings it online.
        yield StringCommand("systemctl", "restart", O2CB_SERVICE)
        return
    if ocfs2.timeouts == timeouts and ocfs2.cluster_members == members:
        host.noop(f"cluster {cluster} is online with {', '.join(sorted(members))}")
        return
    if moving:
        host.noop(f"o2cb restarts with {', '.join(sorted(members.values()))} when the node returns to service")
        return
    mounted = [point for device in ocfs2.devices.values() for point in device.mount_points]
    if mounted:
        report(
            f"o2cb runs with other settings than /etc/default/o2cb and cluster.conf "
            f"({ocfs2.cluster_members}, {ocfs2.timeouts}); they take effect once "
            f"{', '.join(mounted)} are unmounted and o2cb restarts"
        )
        return
    yield StringCommand("systemctl", "restart", O2CB_SERVICE)


@operation()
def cluster_filesystem(
    device: str,
    minor: int,
    cluster: str,
    fs_type: str,
    slots: int,
    label: str,
    maker: str,
    one_legged: bool = False,
) -> Generator[StringCommand, None, None]:
    """
    Make an OCFS2 file system on a blank DRBD device once, on one node of the pair.

    + device: the DRBD device
    + minor: its DRBD minor
    + cluster: the o2cb cluster name
    + fs_type: mkfs.ocfs2 -T (mail, datafiles, vmstore)
    + slots: node slots (-N)
    + label: the volume label (-L)
    + maker: the node that makes the file system
    + one_legged: a one-legged start: the peer need not be connected
    """
    ocfs2 = host.get_fact(Ocfs2, cluster=cluster, devices=[(device, minor)])
    state = ocfs2.devices.get(device, Ocfs2Device(device))
    if state.io_suspended:
        raise OperationError(
            f"{device}: I/O is frozen (DRBD lost its peer and fencing has not confirmed it off), so what it "
            "holds cannot be read; nothing is made on it (README, Fencing)"
        )
    if state.has_ocfs2:
        host.noop(f"{device} holds OCFS2 {state.label}")
        return
    if state.exists and (state.signature is not None or state.blkid_status not in (0, 2)):
        found = state.signature or f"a signature blkid cannot name (exit {state.blkid_status})"
        raise OperationError(
            f"{device} holds {found}; refusing to make OCFS2 on it. "
            "If its data is not needed, wipe it by hand (wipefs -a) and run again."
        )
    if state.connection is not None and state.role != "Primary":
        # A Secondary DRBD device cannot be read: blkid cannot tell what it holds.
        report(f"{device} is {state.summary()}: what it holds is read once it is Primary")
        return
    if host.name != maker:
        report(f"{device}: no OCFS2 yet; {maker} makes it")
        return
    ready = state.both_primary_up_to_date or (one_legged and state.alone_primary)
    if not ready:
        wanted = "Primary and UpToDate" if one_legged else "Primary and UpToDate on both nodes"
        report(f"{device} ({state.summary()}): mkfs.ocfs2 waits until it is {wanted}")
        return
    if not ocfs2.online:
        report(f"{device}: mkfs.ocfs2 waits for the o2cb cluster {cluster} to be online")
        return
    if not state.blank:
        raise OperationError(
            f"{device} has no signature blkid knows, but its first MiB is not zero, so it may hold data; "
            "refusing to make OCFS2 on it. If its data is not needed, zero its start by hand "
            f"(dd if=/dev/zero of={device} bs=1M count=1 oflag=direct) and run again."
        )
    yield refuse_unless_blank(device, zero_head_bytes=ZERO_HEAD_BYTES)
    yield StringCommand(
        "mkfs.ocfs2",
        "-q",
        "--fs-feature-level=max-features",
        # The procedure's max-features, less quota accounting: nothing mounts with usrquota or
        # grpquota, and after both nodes lost power the lab saw the second node's mount
        # deadlock with its own quota recovery (docs/measurements.md, twenty-first session).
        "--fs-features=" + ",".join(f"no{feature}" for feature in QUOTA_FEATURES),
        "-T",
        QuoteString(fs_type),
        "-N",
        str(slots),
        "-L",
        QuoteString(label),
        QuoteString(device),
    )


@operation()
def cluster_mount(
    device: str,
    minor: int,
    cluster: str,
    mount_point: str,
    options: list[str],
    held: str | None = None,
    promoted: bool = False,
) -> Generator[StringCommand, None, None]:
    """
    Mount an OCFS2 volume once its device is Primary, holds OCFS2 and the cluster is online.

    + device: the DRBD device
    + minor: its DRBD minor
    + cluster: the o2cb cluster name
    + mount_point: where to mount it
    + options: mount options
    + held: why the volume stays unmounted in this run whatever the facts say (e.g. its device is demoted)
    + promoted: an earlier operation of this run promotes the device (the facts still show it Secondary)
    """
    ocfs2 = host.get_fact(Ocfs2, cluster=cluster, devices=[(device, minor)])
    state = ocfs2.devices.get(device, Ocfs2Device(device))
    if mount_point in state.mount_points:
        if "sync" in options and mount_point not in state.sync_mount_points:
            # Mounted before twinstore mounted exported volumes synchronously: safe to change online.
            yield StringCommand("mount", "-o", "remount,sync", QuoteString(mount_point))
            return
        host.noop(f"{device} is mounted on {mount_point}")
        return
    if held is not None:
        report(f"{mount_point} is not mounted: {held}")
        return
    if state.role != "Primary" and not promoted:
        report(f"{mount_point} is not mounted: {device} is {state.summary()}; it is mounted once Primary")
        return
    if not state.has_ocfs2 and not promoted:
        report(f"{mount_point} is not mounted: {device} holds no OCFS2 file system yet")
        return
    if not ocfs2.online:
        report(f"{mount_point} is not mounted: the o2cb cluster {cluster} is offline")
        return
    yield mount_command(device, mount_point, options)


def mount_command(device: str, mount_point: str, options: list[str]) -> StringCommand:
    """Mount an OCFS2 volume unless it is mounted already, under the boot unit's mount lock."""
    return operation_script(
        "ocfs2_mount",
        MOUNT_LOCK,
        device,
        mount_point,
        ",".join(options),
        tries=OCFS2_MOUNT_TRIES,
        retry_s=OCFS2_MOUNT_RETRY_S,
    )


@operation(is_idempotent=False)
def grown(device: str) -> Generator[StringCommand, None, None]:
    """
    Grow a mounted OCFS2 file system to fill its grown DRBD device (tunefs.ocfs2 -S, online),
    from one node for the cluster.

    + device: the DRBD device
    """
    yield operation_script("ocfs2_grow", device)


def grows(device: Ocfs2Device | None, drbd_grows_now: bool) -> bool:
    """The file system on a device grows in this run: its DRBD device does, or did in a run that
    stopped before the file system grew."""
    if device is None or not device.has_ocfs2:
        return False
    return drbd_grows_now or (device.fs_size is not None and device.fs_size + GROW_SLACK <= device.size)


def fact_reads(config: StorageConfig) -> FactReads:
    return FactReads(
        files=["/etc/ocfs2/cluster.conf", "/etc/default/o2cb"],
        directories=["/etc/ocfs2", *config.ocfs2_mounts],
        lines=[("/etc/fstab", fstab_match(volume.mount_point), True) for volume in config.ocfs2_volumes.values()],
        facts=[(Ocfs2, {"cluster": config.ocfs2_cluster.name, "devices": config.ocfs2_devices}), (LvmReport, {})],
    )


@deploy("OCFS2 cluster and file systems")
def configure_ocfs2(config: StorageConfig, link_moves: bool = False) -> None:
    """
    + link_moves: the replication link moves in this run (operations/replication.py restarts o2cb)
    """
    cluster = config.ocfs2_cluster
    prefetch_reads(host, fact_reads(config))
    files.directory(name="Directory /etc/ocfs2", path="/etc/ocfs2", present=True)
    nodes = [
        {"name": node.name, "address": config.replication_address(node), "number": node.o2cb_number}
        for node in config.nodes
    ]
    files.template(
        name="o2cb cluster members",
        src=str(TEMPLATES / "cluster.conf.j2"),
        dest="/etc/ocfs2/cluster.conf",
        cluster=cluster,
        nodes=nodes,
    )
    files.template(
        name="o2cb start at boot and timeouts",
        src=str(TEMPLATES / "o2cb.j2"),
        dest="/etc/default/o2cb",
        cluster=cluster,
    )
    devices = config.ocfs2_devices
    cluster_online(
        name=f"o2cb cluster {cluster.name} online",
        cluster=cluster.name,
        timeouts=cluster.timeouts,
        members=config.cluster_members,
        devices=devices,
        moving=link_moves,
    )
    # The fstab entry is for the administrator and the boot unit: noauto keeps systemd from
    # mounting it before DRBD and o2cb are ready, and pass 0 because the peer may have it mounted.
    maker = filesystem_maker(config)
    discarded = changes_discarded_here(config)
    lvm = host.get_fact(LvmReport)
    for volume in config.ocfs2_volumes.values():
        resource = config.ocfs2_resource(volume)
        minor, device = resource.minor, resource.device
        options = config.ocfs2_mount_options_for(volume)
        fstab_options = ",".join(["_netdev", "noauto", *(o for o in options if o != "_netdev")])
        cluster_filesystem(
            name=f"OCFS2 on {device} ({volume.label})",
            device=device,
            minor=minor,
            cluster=cluster.name,
            fs_type=volume.fs_type,
            slots=volume.slots,
            label=volume.label,
            maker=maker,
            one_legged=config.first_leg == host.name,
        )
        files.directory(name=f"Mount point {volume.mount_point}", path=volume.mount_point, present=True)
        files.line(
            name=f"fstab entry for {volume.mount_point}",
            path="/etc/fstab",
            line=fstab_match(volume.mount_point),
            extended_regex=True,
            replace=f"{device} {volume.mount_point} ocfs2 {fstab_options} 0 0",
        )
        cluster_mount(
            name=f"Mount {volume.mount_point}",
            device=device,
            minor=minor,
            cluster=cluster.name,
            mount_point=volume.mount_point,
            options=options,
            held=(
                f"{host.name}'s changes to {volume.drbd_resource} are discarded in this run; "
                "it is mounted by the first run after the resync"
                if volume.drbd_resource in discarded
                else None
            ),
            promoted=config.promote_alone == host.name,
        )
        if host.name == config.nodes[0].name:
            backing = config.logical_volumes[resource.backing_volume]
            state = host.get_fact(Ocfs2, cluster=cluster.name, devices=devices).devices.get(device)
            size = volume_size(lvm, config.volume_group.name, resource.backing_volume, backing.size)
            if grows(state, state is not None and drbd_grows(state.size, size)):
                grown(name=f"Grow OCFS2 {volume.label} to fill {device}", device=device)
