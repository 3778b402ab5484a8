"""NFS exports of the replicated volumes, through the public paths under /vol.

The exports live in /etc/exports.d/twinstore.exports. They are re-exported when that file
changed, or when an export path that now leads to a directory is missing from the kernel's
table (its volume was mounted since). A path whose volume is not mounted yet is reported,
not an error: the boot unit and the next run export it.
"""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path

from pyinfra import host
from pyinfra.api import StringCommand, deploy, operation
from pyinfra.api.operation import OperationMeta
from pyinfra.operations import files, systemd
from pyinfra.operations.util import any_changed

from facts.boot import BootWait
from facts.nfs import NfsExports
from operations.report import changes, report
from operations.util import operation_script, unit_state
from twinstore.config import SiteConfig, StorageConfig
from twinstore.fact_cache import FactReads, prefetch_reads
from twinstore.shell import script_file

TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "nfs"
EXPORTS_FILE = "/etc/exports.d/twinstore.exports"
# exportfs -ra exits 1 when an export path does not exist; fail on anything else.
# exportfs -ra that fails only for more than an export whose path is not there yet.
REEXPORT = script_file("operations", "nfs_reexport")


@operation()
def exported(paths: list[str], exports_file: OperationMeta) -> Generator[StringCommand, None, None]:
    """
    Make the kernel's export table match the exports file.

    + paths: the configured export paths
    + exports_file: the operation that writes the exports file
    """
    table = host.get_fact(NfsExports, paths=paths)
    pending = [path for path in paths if path not in table.resolved]
    if pending:
        report(f"not exported yet, their volume is not mounted: {', '.join(pending)}")
    missing = [path for path, real in table.resolved.items() if real not in table.exported]
    if changes(exports_file) or missing:
        yield operation_script("nfs_reexport")
    else:
        host.noop(f"exported: {', '.join(path for path in paths if path in table.resolved)}")


def fact_reads(config: StorageConfig) -> FactReads:
    return FactReads(
        files=["/etc/nfs.conf.d/twinstore.conf", EXPORTS_FILE],
        # mountd's state too: --dry plans the restart below whatever its _if says (pyinfra checks
        # _if only when executing), and reads the unit's state for it.
        services=["nfs-server.service", "nfs-mountd.service"],
        facts=[(NfsExports, {"paths": [export.path for export in config.nfs_exports]}), (BootWait, {})],
    )


@deploy("NFS exports")
def configure_nfs(config: StorageConfig, site: SiteConfig) -> None:
    prefetch_reads(host, fact_reads(config))
    mountd = files.template(
        name="mountd keeps the client's groups (LP#409366)",
        src=str(TEMPLATES / "nfs.conf.j2"),
        dest="/etc/nfs.conf.d/twinstore.conf",
    )
    systemd.service(
        name="Restart mountd for its new settings",
        service="nfs-mountd.service",
        running=True,
        restarted=True,
        _if=any_changed(mountd),
    )
    exports = [
        {"path": export.path, "entries": export.entries([str(site.client_network)])} for export in config.nfs_exports
    ]
    exports_file = files.template(
        name=f"Exports in {EXPORTS_FILE}",
        src=str(TEMPLATES / "twinstore.exports.j2"),
        dest=EXPORTS_FILE,
        exports=exports,
    )
    # While the boot unit waits for the peer, nfs-server waits with it (ordered after it): a
    # start from here would wait as long.
    waiting = host.get_fact(BootWait).waiting
    unit_state(
        name="NFS server running and started at boot",
        service="nfs-server.service",
        running=None if waiting else True,
        enabled=True,
    )
    exported(
        name="Export the volumes",
        paths=[export.path for export in config.nfs_exports],
        exports_file=exports_file,
    )
