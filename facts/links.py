"""The public paths under /vol: what each path is now, its target, and whether the target's volume is mounted."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pyinfra.api import FactBase, QuoteString, StringCommand
from typing_extensions import override

from facts.lvm import SECTION

SCRIPT = r"""
# Shell built-ins wherever they do: each program started costs 60-100 ms under TCG. One
# find reads every link's target (path, a tab, target per line).
links=$(find "$@" -maxdepth 0 -type l -printf '%p\t%l\n' 2>/dev/null)
mounts=$(while read -r source point rest; do echo "$point"; done < /proc/mounts)
while [ "$#" -ge 3 ]; do
    path=$1; target=$2; volume=$3; shift 3
    echo "{section}$path"
    if [ -L "$path" ]; then
        while IFS='	' read -r link link_target; do
            [ "$link" = "$path" ] && echo "LINK=$link_target"
        done <<LINKS
$links
LINKS
    elif [ -d "$path" ]; then
        if [ -z "$(ls -A "$path")" ]; then echo "KIND=empty_directory"; else echo "KIND=directory"; fi
    elif [ -e "$path" ]; then echo "KIND=other"
    fi
    if [ -d "$target" ]; then echo "TARGET=directory"; elif [ -e "$target" ]; then echo "TARGET=other"; fi
    while IFS= read -r point; do
        [ "$point" = "$volume" ] && echo "VOLUME_MOUNTED=1" && break
    done <<MOUNTS
$mounts
MOUNTS
done
true
"""

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
        arguments = [QuoteString(part) for link in links for part in link]
        return StringCommand("sh", "-c", QuoteString(SCRIPT.format(section=SECTION)), "sh", *arguments)

    @override
    def process(self, output: list[str]) -> dict[str, PublicPath]:
        sections: dict[str, dict[str, str]] = {}
        current: dict[str, str] = {}
        for line in output:
            if line.startswith(SECTION):
                current = sections.setdefault(line[len(SECTION) :], {})
            elif "=" in line:
                key, value = line.split("=", 1)
                current[key] = value
        paths = {}
        for path, values in sections.items():
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
