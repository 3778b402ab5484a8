"""apt sources by IP address: the procedure points apt at its servers by address.

Off unless ``apt_sources`` or ``apt_addresses`` is set. ``apt_sources`` owns
/etc/apt/sources.list whole (one ``deb`` line per suite of each source; ``--diff`` shows what
a first run replaces). In every other source file (/etc/apt/sources.list.d/*.list, deb822
*.sources, and sources.list when ``apt_sources`` is empty) each server ``apt_addresses`` names
is replaced by its address, one files.replace per file and server, so ``--dry`` lists the files
that change. A file naming a server that is in neither stops the deploy before any change:
apt would need DNS for it. The package lists are refreshed when anything changed, before any
package is installed.
"""

from __future__ import annotations

import re
from ipaddress import ip_address
from pathlib import Path

from pyinfra import host
from pyinfra.api import deploy
from pyinfra.api.operation import OperationMeta
from pyinfra.operations import apt, files
from pyinfra.operations.util import any_changed

from facts.sources import SOURCES_LIST, AptSourceUris
from operations import release
from twinstore.config import AptSource, StorageConfig
from twinstore.fact_cache import FactReads, prefetch_reads
from twinstore.validation import Problem, host_source, stop

TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "sources"
# scheme://[user@]host[:port]/...: the host as written, an IPv6 address in its brackets.
URI_HOST = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://(?:[^/@]*@)?(\[[^\]]*\]|[^/:]+)")


def uri_host(uri: str) -> str | None:
    """The server a URI names, as written (None for file:, cdrom: and the like)."""
    match = URI_HOST.match(uri)
    return match.group(1) if match else None


def is_address(name: str) -> bool:
    try:
        ip_address(name.strip("[]"))
    except ValueError:
        return False
    return True


def other_source_files(config: StorageConfig) -> list[str]:
    """The source files read besides sources.list.d: sources.list, unless apt_sources owns it."""
    return [] if config.apt_sources else [SOURCES_LIST]


def renames(
    config: StorageConfig, uris: dict[str, list[str]], source: str
) -> tuple[dict[str, list[str]], list[Problem]]:
    """
    Which servers each file names by a name apt_addresses gives an address for, and a problem
    for each name it does not.
    """
    wanted: dict[str, list[str]] = {}
    problems = []
    for path, found in sorted(uris.items()):
        for uri in found:
            name = uri_host(uri)
            if name is None or is_address(name):
                continue
            if name.lower() in config.apt_addresses:
                if name not in wanted.setdefault(path, []):
                    wanted[path].append(name)
                continue
            problems.append(
                Problem(
                    source,
                    f"apt_addresses.{name.lower()}",
                    f"{path}: {uri}",
                    "is not set: apt would need DNS to reach this server; give its address in "
                    "apt_addresses, or remove the file",
                )
            )
    return {path: names for path, names in wanted.items() if names}, problems


def host_pattern(name: str) -> str:
    """The extended regex of a server's name right after a URI's scheme, up to its port or path."""
    # Only the dots of a name are special in a regex (re.escape's "\\-" makes grep warn).
    return "://" + name.replace(".", r"\.") + "([:/]|$)"


def source_lines(sources: list[AptSource], codename: str) -> list[str]:
    """sources.list's lines on a host of the release named codename: one per suite of each source."""
    return [
        f"deb {source.uri} {suite} {' '.join(source.components)}"
        for source in sources
        for suite in source.suites_on(codename)
    ]


def fact_reads(config: StorageConfig) -> FactReads:
    if not config.apt_by_address:
        return FactReads()
    return FactReads(
        files=[SOURCES_LIST] if config.apt_sources else [],
        facts=[(AptSourceUris, {"files": other_source_files(config)})],
    )


@deploy("apt sources by IP address")
def configure_sources(config: StorageConfig) -> None:
    if not config.apt_by_address:
        return
    prefetch_reads(host, fact_reads(config))
    uris = host.get_fact(AptSourceUris, files=other_source_files(config))
    wanted, problems = renames(config, uris, host_source(host, "apt_addresses"))
    stop(problems)
    changes: list[OperationMeta] = []
    if config.apt_sources:
        changes.append(
            files.template(
                name=f"The install server by IP address in {SOURCES_LIST}",
                src=str(TEMPLATES / "sources.list.j2"),
                dest=SOURCES_LIST,
                lines=source_lines(config.apt_sources, release.codename()),
            )
        )
    for path, names in wanted.items():
        for name in names:
            address = config.apt_addresses[name.lower()]
            changes.append(
                files.replace(
                    name=f"{path}: {name} by its address {address}",
                    path=path,
                    text=host_pattern(name),
                    replace=f"://{address}\\1",
                    flags=["g"],
                    extended_regex=True,
                )
            )
    apt.update(name="Package lists from the new sources", _if=any_changed(*changes))
