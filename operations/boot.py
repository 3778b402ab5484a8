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
from typing import Any

from pyinfra import host
from pyinfra.api import StringCommand, deploy, operation
from pyinfra.facts.systemd import SystemdStatus
from pyinfra.operations import files, systemd
from pyinfra.operations.util import any_changed

from facts.boot import BootWait, BootWaitState
from facts.ocfs2 import Ocfs2
from operations.report import report, utc
from operations.util import OCFS2_MOUNT_RETRY_S, OCFS2_MOUNT_TRIES, unit_state
from twinstore.config import StorageConfig
from twinstore.fact_cache import FactReads, prefetch_reads
from twinstore.templating import jinja_env_kwargs

TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "boot"
UNIT = "twinstore-storage.service"
SCRIPT = "/usr/local/sbin/twinstore-storage"


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
    if host.get_fact(SystemdStatus, services=[unit]).get(unit):
        host.noop(f"{unit} is active")
        return
    boot_wait = host.get_fact(BootWait)
    if boot_wait.waiting:
        report(f"{unit} is starting: {waiting_text(boot_wait)}")
        return
    ocfs2 = host.get_fact(Ocfs2, cluster=cluster, devices=devices)
    unmounted = [point for point in mount_points if ocfs2.mounted_at(point) is None]
    if unmounted:
        report(f"{unit} is enabled for the next boot; not started now: {', '.join(unmounted)} not mounted yet")
        return
    yield StringCommand("systemctl", "start", unit)


def waiting_text(waiting: BootWaitState) -> str:
    """What the boot unit waits for, for the deploy's and the health report's messages."""
    resources = ", ".join(f"{name} {state.connection} {state.disks}" for name, state in waiting.resources.items())
    since = utc(waiting.since or 0)
    return (
        f"waiting for the peer since {since} ({resources}); not promoted alone because this node's copy "
        "may be older than the peer's"
    )


def boot_script_values(config: StorageConfig) -> dict[str, Any]:
    """What the boot script's template is rendered with."""
    return {
        "resources": list(config.drbd_resources),
        # resource:device:mount point:mount options of each OCFS2 volume
        "volumes": [
            ":".join(
                [
                    volume.drbd_resource,
                    config.ocfs2_resource(volume).device,
                    volume.mount_point,
                    ",".join(config.ocfs2_mount_options_for(volume)),
                ]
            )
            for volume in config.ocfs2_volumes.values()
        ],
        "cluster": config.ocfs2_cluster.name,
        "mount_tries": OCFS2_MOUNT_TRIES,
        "mount_retry_s": OCFS2_MOUNT_RETRY_S,
    }


def fact_reads(config: StorageConfig) -> FactReads:
    return FactReads(files=[SCRIPT, f"/etc/systemd/system/{UNIT}"], services=[UNIT], facts=[(BootWait, {})])


@deploy("Ordered boot")
def configure_boot(config: StorageConfig) -> None:
    prefetch_reads(host, fact_reads(config))
    files.template(
        name=f"Boot script {SCRIPT}",
        src=str(TEMPLATES / "twinstore-storage.sh.j2"),
        dest=SCRIPT,
        mode="755",
        jinja_env_kwargs=jinja_env_kwargs(),
        **boot_script_values(config),
    )
    unit = files.template(
        name=f"Boot unit {UNIT}",
        src=str(TEMPLATES / "twinstore-storage.service.j2"),
        dest=f"/etc/systemd/system/{UNIT}",
        script=SCRIPT,
    )
    systemd.daemon_reload(name="Reload systemd units", _if=any_changed(unit))
    unit_state(name=f"{UNIT} runs at boot", service=UNIT, running=None, enabled=True)
    in_service(
        name=f"{UNIT} active",
        unit=UNIT,
        cluster=config.ocfs2_cluster.name,
        devices=config.ocfs2_devices,
        mount_points=config.ocfs2_mounts,
    )
