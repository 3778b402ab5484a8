"""The operating system release: the deploy runs only on the releases it is tested on.

What a storage pair depends on changes between Debian releases (the kernel's DRBD and o2cb, how
ocfs2-tools, nfs-utils and apt start and read their configuration, unison's wire protocol), so a
host on any other release is refused by name, with the releases that are supported, before
anything changes on any host. The release is read in the combined read (no round trip of its own).
"""

from __future__ import annotations

from pyinfra import host
from pyinfra.facts.server import LinuxDistribution, LinuxDistributionDict

from twinstore.fact_cache import FactReads
from twinstore.releases import SUPPORTED_RELEASES
from twinstore.validation import Problem, stop


def fact_reads() -> FactReads:
    return FactReads(facts=[(LinuxDistribution, {})])


def describe(distribution: LinuxDistributionDict) -> str:
    """A release as a person names it: "Debian 12 (bookworm)", "Ubuntu 24.04 (noble)"."""
    meta = distribution["release_meta"]
    name = distribution["name"] or meta.get("ID") or "an unknown system"
    version = meta.get("VERSION_ID") or ("" if distribution["major"] is None else str(distribution["major"]))
    codename = meta.get("VERSION_CODENAME")
    return " ".join(part for part in (str(name), version, f"({codename})" if codename else "") if part)


def release_problem(host_name: str, distribution: LinuxDistributionDict) -> Problem | None:
    """Why this host's release is not one the deploy runs on, or None when it is."""
    if distribution["name"] == "Debian" and distribution["major"] in SUPPORTED_RELEASES:
        return None
    supported = " and ".join(f"Debian {major} ({codename})" for major, codename in SUPPORTED_RELEASES.items())
    return Problem(
        host_name,
        "operating system",
        describe(distribution),
        f"twinstore runs on {supported} only; install a supported release on {host_name} (/etc/os-release)",
    )


def major() -> int:
    """This host's Debian major version, once refuse_unsupported_release has let it through."""
    found = host.get_fact(LinuxDistribution)["major"]
    if found not in SUPPORTED_RELEASES:
        raise RuntimeError(f"{host.name}: Debian {found} was not refused before this (refuse_unsupported_release)")
    return int(found)


def codename() -> str:
    """This host's release codename, once refuse_unsupported_release has let it through."""
    return SUPPORTED_RELEASES[major()]


def refuse_unsupported_release() -> None:
    """End the run before any operation when this host runs a release the deploy is not tested on."""
    problem = release_problem(host.name, host.get_fact(LinuxDistribution))
    if problem is not None:
        stop([problem])
