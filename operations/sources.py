"""apt sources by IP address: the procedure points apt at the install server by address.

Off unless ``apt_sources`` is set. Then /etc/apt/sources.list is owned whole (one ``deb``
line per suite of each source; ``--diff`` shows what a first run replaces) and the package
lists are refreshed when it changed, before any package is installed. Files under
/etc/apt/sources.list.d are left alone: they name other repositories, whose servers twinstore
does not know.
"""

from __future__ import annotations

from pathlib import Path

from pyinfra import host
from pyinfra.api import deploy
from pyinfra.operations import apt, files
from pyinfra.operations.util import any_changed

from twinstore.config import StorageConfig
from twinstore.fact_cache import FactReads, prefetch_reads

TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "sources"
SOURCES_LIST = "/etc/apt/sources.list"


def fact_reads(config: StorageConfig) -> FactReads:
    if not config.apt_sources:
        return FactReads()
    return FactReads(files=[SOURCES_LIST])


@deploy("apt sources by IP address")
def configure_sources(config: StorageConfig) -> None:
    if not config.apt_sources:
        return
    prefetch_reads(host, fact_reads(config))
    sources = files.template(
        name=f"The install server by IP address in {SOURCES_LIST}",
        src=str(TEMPLATES / "sources.list.j2"),
        dest=SOURCES_LIST,
        sources=config.apt_sources,
    )
    apt.update(name="Package lists from the new sources", _if=any_changed(sources))
