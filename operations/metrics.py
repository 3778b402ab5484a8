"""Metrics: the pair's state for the site's monitoring, with no controller in between.

A systemd timer on each storage node runs /usr/local/sbin/twinstore-metrics, which writes the
node's view of the pair (DRBD connection, roles, disk states, out-of-sync bytes and resync
progress, o2cb, each volume mounted and its space, each export, the last unison sync, the last
verify) as twinstore.prom in node-exporter's textfile collector directory. Debian's
prometheus-node-exporter serves it with the node's own metrics on port 9100, which the client
networks reach through the firewall (operations/firewall.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pyinfra import host
from pyinfra.api import deploy
from pyinfra.operations import files, systemd
from pyinfra.operations.util import any_changed

from facts.health import VERIFY_STATE
from operations.util import unit_state
from twinstore.config import StorageConfig
from twinstore.fact_cache import FactReads, prefetch_reads
from twinstore.templating import jinja_env_kwargs

TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "metrics"
SCRIPT = "/usr/local/sbin/twinstore-metrics"
SERVICE = "twinstore-metrics.service"
TIMER = "twinstore-metrics.timer"
EXPORTER = "prometheus-node-exporter.service"
EXPORTER_DEFAULTS = "/etc/default/prometheus-node-exporter"
# node-exporter's own file system collector leaves OCFS2 alone: a statfs of a volume whose DRBD
# I/O is frozen waits until it resumes, and node-exporter 1.5 holds that scrape until then (it
# skips the mount only from the next scrape on), so the scrape that matters most would time out.
# The volumes' free space comes from twinstore's textfile instead, which checks for frozen I/O
# first. The other types are node-exporter's default list.
EXPORTER_ARGS = (
    "--collector.filesystem.fs-types-exclude=^(autofs|binfmt_misc|bpf|cgroup2?|configfs|debugfs|devpts|devtmpfs"
    "|fusectl|hugetlbfs|iso9660|mqueue|nsfs|overlay|proc|procfs|pstore|rpc_pipefs|securityfs|selinuxfs|squashfs"
    "|sysfs|tracefs|ocfs2)$"
)
TEXTFILE = "twinstore.prom"
# Where the script reads the node's state; tests/test_metrics.py points them at fixtures.
SOURCES = {
    "proc_drbd": "/proc/drbd",
    "cluster_dir": "/sys/kernel/config/cluster",
    "proc_mounts": "/proc/mounts",
    "etab": "/var/lib/nfs/etab",
}


def metrics_script_values(config: StorageConfig, node: str) -> dict[str, Any]:
    """The script's values on one node (only the unison client records its syncs)."""
    return {
        **SOURCES,
        "textfile_directory": config.metrics.textfile_directory,
        "cluster": config.ocfs2_cluster.name,
        "resources": config.resource_minors,
        "mount_points": config.volume_mounts,
        "exports": [export.path for export in config.nfs_exports],
        "last_run_file": config.sync_record_on(node),
        "verify_state": VERIFY_STATE,
    }


def fact_reads(config: StorageConfig) -> FactReads:
    return FactReads(
        files=[SCRIPT, f"/etc/systemd/system/{SERVICE}", f"/etc/systemd/system/{TIMER}"],
        lines=[(EXPORTER_DEFAULTS, "^ARGS=.*$", True)],
        directories=[config.metrics.textfile_directory],
        services=[TIMER, EXPORTER],
    )


@deploy("Metrics for the site's monitoring")
def configure_metrics(config: StorageConfig) -> None:
    prefetch_reads(host, fact_reads(config))
    files.directory(
        name=f"node-exporter's textfile directory {config.metrics.textfile_directory}",
        path=config.metrics.textfile_directory,
    )
    files.template(
        name=f"Metrics script {SCRIPT}",
        src=str(TEMPLATES / "twinstore-metrics.sh.j2"),
        dest=SCRIPT,
        mode="755",
        jinja_env_kwargs=jinja_env_kwargs(),
        **metrics_script_values(config, host.name),
    )
    service = files.template(
        name=f"Metrics unit {SERVICE}",
        src=str(TEMPLATES / "twinstore-metrics.service.j2"),
        dest=f"/etc/systemd/system/{SERVICE}",
        script=SCRIPT,
    )
    timer = files.template(
        name=f"Metrics timer {TIMER}, every {config.metrics.interval_seconds} s",
        src=str(TEMPLATES / "twinstore-metrics.timer.j2"),
        dest=f"/etc/systemd/system/{TIMER}",
        interval_seconds=config.metrics.interval_seconds,
    )
    systemd.daemon_reload(name="Reload systemd units", _if=any_changed(service, timer))
    arguments = files.line(
        name=f"node-exporter's file system collector leaves OCFS2 to the textfile ({EXPORTER_DEFAULTS})",
        path=EXPORTER_DEFAULTS,
        line="^ARGS=.*$",
        replace=f'ARGS="{EXPORTER_ARGS}"',
        extended_regex=True,
    )
    systemd.service(
        name="node-exporter restarted for its arguments",
        service=EXPORTER,
        running=True,
        restarted=True,
        _if=any_changed(arguments),
    )
    unit_state(name="node-exporter serves the metrics", service=EXPORTER, running=True, enabled=True)
    unit_state(name=f"{TIMER} writes them", service=TIMER, running=True, enabled=True)
