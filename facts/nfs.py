"""NFS: what the kernel exports now, and where each wanted export path leads."""

from __future__ import annotations

from dataclasses import dataclass, field

from pyinfra.api import FactBase, StringCommand
from typing_extensions import override

from facts.util import key_values, script_command, section_lines


@dataclass(frozen=True)
class NfsExportsState:
    # Paths in the kernel's export table (exportfs shows a symlink's resolved path).
    exported: frozenset[str] = frozenset()
    # Wanted path -> the directory it resolves to; absent when it leads nowhere (volume not mounted).
    resolved: dict[str, str] = field(default_factory=dict)
    # Exported path -> the clients the kernel exports it to.
    clients: dict[str, frozenset[str]] = field(default_factory=dict)
    # I/O on a DRBD resource is frozen: the paths were not resolved (it would wait on the volume).
    frozen: bool = False


class NfsExports(FactBase[NfsExportsState]):
    """
    The current export table and where each given path resolves.

    + paths: the export paths the configuration wants

    .. code:: python

        NfsExportsState(exported=frozenset({"/vol/rep-unison/pub"}),
                        resolved={"/vol/pub": "/vol/rep-unison/pub"},
                        clients={"/vol/rep-unison/pub": frozenset({"192.168.1.10", "192.168.1.0/24"})})
    """

    @override
    @staticmethod
    def default() -> NfsExportsState:
        return NfsExportsState()

    @override
    def command(self, paths: list[str]) -> StringCommand:
        return script_command(("frozen", "nfs"), list(paths))

    @override
    def process(self, output: list[str]) -> NfsExportsState:
        sections = section_lines(output)
        exported: set[str] = set()
        clients: dict[str, set[str]] = {}
        for key, value in key_values(sections.get("exported", [])):
            if key == "EXPORTED":
                path, _, client = value.partition(" ")
                exported.add(path)
                if client.strip():
                    clients.setdefault(path, set()).add(client.strip())
        resolved = {
            name.split(" ", 1)[1]: value
            for name, lines in sections.items()
            if name.startswith("path ")
            for key, value in key_values(lines)
            if key == "RESOLVED"
        }
        return NfsExportsState(
            frozenset(exported),
            resolved,
            {path: frozenset(names) for path, names in clients.items()},
            frozen="frozen" in sections,
        )
