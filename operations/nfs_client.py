"""NFS clients: autofs mounts each automount point from its NIS map (bound by operations/nis.py),
and the procedure's symlinks (``/pub -> staging/pub``)."""

from __future__ import annotations

from pathlib import Path

from pyinfra.api import deploy
from pyinfra.operations import files, systemd
from pyinfra.operations.util import any_changed

from operations.util import unit_state
from twinstore.config import NfsClientConfig
from twinstore.fact_cache import FactReads

TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "nfs_client"
AUTOFS_MASTER = "/etc/auto.master.d/twinstore.autofs"


def fact_reads(config: NfsClientConfig) -> FactReads:
    """Everything configure_nfs_client reads on a client."""
    return FactReads(
        files=[AUTOFS_MASTER],
        directories=list(config.automount_points),
        links=[link.path for link in config.client_links],
        services=["autofs.service"],
    )


@deploy("NFS clients")
def configure_nfs_client(config: NfsClientConfig) -> None:
    automounts = files.template(
        name=f"Automount points from NIS ({AUTOFS_MASTER})",
        src=str(TEMPLATES / "twinstore.autofs.j2"),
        dest=AUTOFS_MASTER,
        points=config.automount_points,
    )
    systemd.service(
        name="autofs reloaded for its maps",
        service="autofs.service",
        running=True,
        reloaded=True,
        _if=any_changed(automounts),
    )
    unit_state(name="autofs running and started at boot", service="autofs.service", running=True, enabled=True)
    for point in config.automount_points:
        files.directory(name=f"Mount point {point}", path=point)
    for link in config.client_links:
        files.link(name=f"{link.path} -> {link.target}", path=link.path, target=link.target)
