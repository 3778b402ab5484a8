"""Kernel tuning: the procedure's sysctls, persisted in /etc/sysctl.d and applied live."""

from __future__ import annotations

from pathlib import Path

from pyinfra import host
from pyinfra.api import deploy
from pyinfra.operations import files, server

from twinstore.config import StorageConfig
from twinstore.fact_cache import FactReads, prefetch_reads

TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "tuning"
SYSCTL_FILE = "/etc/sysctl.d/60-twinstore.conf"


def fact_reads(config: StorageConfig) -> FactReads:
    return FactReads(files=[SYSCTL_FILE], sysctls=list(config.sysctls))


@deploy("Kernel tuning")
def configure_tuning(config: StorageConfig) -> None:
    prefetch_reads(host, fact_reads(config))
    files.template(
        name=f"Persist sysctls in {SYSCTL_FILE}",
        src=str(TEMPLATES / "sysctl.conf.j2"),
        dest=SYSCTL_FILE,
        sysctls=config.sysctls,
    )
    for key, value in config.sysctls.items():
        server.sysctl(name=f"sysctl {key}", key=key, value=value)
