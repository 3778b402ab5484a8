"""Public paths under /vol: symlinks to the directories on the volumes that hold the data.

A target directory is created only while its volume is mounted, so it never lands on the
root file system under an empty mount point. An existing empty directory at a public path
becomes the link; one with content, or a file, is never replaced.
"""

from __future__ import annotations

from collections.abc import Generator

from pyinfra import host
from pyinfra.api import OperationError, QuoteString, StringCommand, deploy, operation

from facts.links import PublicPath, PublicPaths
from operations.report import report
from twinstore.config import StorageConfig
from twinstore.fact_cache import FactReads, prefetch_reads


@operation()
def public_link(
    path: str, target: str, volume: str, all_links: list[tuple[str, str, str]] | None = None
) -> Generator[StringCommand, None, None]:
    """
    Make a public path a symlink to a directory on a volume, creating the directory.

    + path: the public path, e.g. /vol/home
    + target: the directory it points to, e.g. /vol/ocfs2-small/home
    + volume: the mount point of the volume holding the target
    + all_links: every (path, target, volume) of the node, so one fact read serves them all
    """
    links = all_links or [(path, target, volume)]
    state = host.get_fact(PublicPaths, links=links).get(path, PublicPath(path))
    if state.target_kind == "other":
        raise OperationError(f"{target} exists and is not a directory; refusing to link {path} to it")
    if state.kind == "directory":
        raise OperationError(
            f"{path} is a directory with content; refusing to replace it with a link to {target}. "
            "Move its content to the target and remove it, then run again."
        )
    if state.kind == "other":
        raise OperationError(f"{path} exists and is not a link or a directory; refusing to replace it")

    changed = False
    if state.target_kind == "missing":
        if state.volume_mounted:
            yield StringCommand("mkdir", "-p", QuoteString(target))
            changed = True
        else:
            report(f"{target} is not created: {volume} is not mounted")
    if state.kind == "link" and state.link_target == target:
        if not changed:
            host.noop(f"{path} -> {target}")
        return
    if state.kind == "empty_directory":
        yield StringCommand("rmdir", QuoteString(path))
    yield StringCommand("ln", "-sfn", QuoteString(target), QuoteString(path))


def link_arguments(config: StorageConfig) -> list[tuple[str, str, str]]:
    """(path, target, volume) of every public link."""
    return [(link.path, link.target, config.resolve_volume_mount(link.target)) for link in config.public_links]


def fact_reads(config: StorageConfig) -> FactReads:
    return FactReads(facts=[(PublicPaths, {"links": link_arguments(config)})])


@deploy("Public paths under /vol")
def configure_links(config: StorageConfig) -> None:
    all_links = link_arguments(config)
    prefetch_reads(host, fact_reads(config))
    for path, target, volume in all_links:
        public_link(name=f"{path} -> {target}", path=path, target=target, volume=volume, all_links=all_links)
