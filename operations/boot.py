"""The ordered boot: twinstore-storage.service, the procedure's rc script as a systemd unit.

It replaces drbd.service (which would promote without knowing about o2cb and the mounts):
DRBD up, wait for the peer, promote, o2cb online, OCFS2 mounted, libvirt pools, NFS
exports; stopped in reverse before the network, o2cb and NFS go down. The deploy starts
the unit only on a node already in service, where starting it changes nothing but lets
systemd run its stop at shutdown.
"""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path

from pyinfra import host
from pyinfra.api import StringCommand, deploy, operation
from pyinfra.facts.systemd import SystemdStatus
from pyinfra.operations import files, systemd
from pyinfra.operations.util import any_changed

from facts.ocfs2 import Ocfs2
from operations.ocfs2 import ocfs2_devices
from operations.report import report
from twinstore.config import StorageConfig
from twinstore.fact_cache import FactReads, prefetch_reads

TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "boot"
UNIT = "twinstore-storage.service"
SCRIPT = "/usr/local/sbin/twinstore-storage"
# o2cb, the mounts, pools and exports after the wait for the peer.
START_MARGIN_S = 300


@operation()
def in_service(
    unit: str, cluster: str, devices: list[tuple[str, int]], mount_points: list[str]
) -> Generator[StringCommand, None, None]:
    """
    Start the boot unit on a node already in service: every device Primary and every volume mounted.

    + unit: the systemd unit
    + cluster: the o2cb cluster name
    + devices: (device, minor) of the OCFS2 volumes
    + mount_points: the OCFS2 mount points
    """
    # The arguments systemd.service reads it with, so both find one answer (fact_cache).
    if host.get_fact(SystemdStatus, user_mode=False, machine=None, user_name=None, services=[unit]).get(unit):
        host.noop(f"{unit} is active")
        return
    ocfs2 = host.get_fact(Ocfs2, cluster=cluster, devices=devices)
    waiting = [point for point in mount_points if ocfs2.mounted_at(point) is None]
    if waiting:
        report(f"{unit} is enabled for the next boot; not started now: {', '.join(waiting)} not mounted yet")
        return
    yield StringCommand("systemctl", "start", unit)


def fact_reads(config: StorageConfig) -> FactReads:
    return FactReads(files=[SCRIPT, f"/etc/systemd/system/{UNIT}"], services=[UNIT])


@deploy("Ordered boot")
def configure_boot(config: StorageConfig) -> None:
    prefetch_reads(host, fact_reads(config))
    volumes = [
        {
            "resource": volume.drbd_resource,
            "device": f"/dev/drbd{config.drbd_resources[volume.drbd_resource].minor}",
            "mount_point": volume.mount_point,
        }
        for volume in config.ocfs2_volumes.values()
    ]
    files.template(
        name=f"Boot script {SCRIPT}",
        src=str(TEMPLATES / "twinstore-storage.sh.j2"),
        dest=SCRIPT,
        mode="755",
        resources=list(config.drbd_resources),
        volumes=volumes,
        cluster=config.ocfs2_cluster.name,
        mount_options=",".join(config.ocfs2_mount_options),
        peer_wait_s=config.drbd_options.wfc_timeout,
    )
    unit = files.template(
        name=f"Boot unit {UNIT}",
        src=str(TEMPLATES / "twinstore-storage.service.j2"),
        dest=f"/etc/systemd/system/{UNIT}",
        script=SCRIPT,
        start_timeout_s=config.drbd_options.wfc_timeout + START_MARGIN_S,
    )
    systemd.daemon_reload(name="Reload systemd units", _if=any_changed(unit))
    systemd.service(name=f"{UNIT} runs at boot", service=UNIT, running=None, enabled=True)
    in_service(
        name=f"{UNIT} active",
        unit=UNIT,
        cluster=config.ocfs2_cluster.name,
        devices=ocfs2_devices(config),
        mount_points=[volume.mount_point for volume in config.ocfs2_volumes.values()],
    )
