"""The public paths under /vol: what each path is now, its target, and whether the target's volume is mounted."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pyinfra.api import FactBase, StringCommand
from typing_extensions import override

from facts.util import key_values, script_command, section_lines

PathKind = Literal["missing", "link", "empty_directory", "directory", "other"]


@dataclass(frozen=True)
class PublicPath:
    path: str
    kind: PathKind = "missing"
    # Where the link points now, when kind is "link".
    link_target: str | None = None
    target_kind: Literal["missing", "directory", "other"] = "missing"
    volume_mounted: bool = False


class PublicPaths(FactBase[dict[str, PublicPath]]):
    """
    Each public path's current state, keyed by path.

    + links: (path, target, mount point of the volume holding the target) for each public link

    .. code:: python

        {"/vol/home": PublicPath(path="/vol/home", kind="link", link_target="/vol/ocfs2-small/home",
                                 target_kind="directory", volume_mounted=True)}
    """

    default = dict

    @override
    def command(self, links: list[tuple[str, str, str]]) -> StringCommand:
        return script_command(("links",), [part for link in links for part in link])

    @override
    def process(self, output: list[str]) -> dict[str, PublicPath]:
        paths = {}
        for path, lines in section_lines(output).items():
            values = dict(key_values(lines))
            kind: PathKind = "link" if "LINK" in values else _path_kind(values.get("KIND", "missing"))
            target = values.get("TARGET", "missing")
            paths[path] = PublicPath(
                path=path,
                kind=kind,
                link_target=values.get("LINK"),
                target_kind="directory" if target == "directory" else "other" if target == "other" else "missing",
                volume_mounted="VOLUME_MOUNTED" in values,
            )
        return paths


def _path_kind(value: str) -> PathKind:
    if value == "empty_directory":
        return "empty_directory"
    if value == "directory":
        return "directory"
    if value == "other":
        return "other"
    return "missing"
