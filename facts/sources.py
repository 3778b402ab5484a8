"""apt's source files and the repository servers they name, read in one command."""

from __future__ import annotations

import re

from pyinfra.api import FactBase, StringCommand
from typing_extensions import override

from facts.util import script_command, section_lines

SOURCES_LIST = "/etc/apt/sources.list"
SOURCES_DIR = "/etc/apt/sources.list.d"

# Each line is printed behind a bar, so an empty line (a deb822 stanza's end) survives the read.

# One-line style: deb [options] URI suite [component...]
ONE_LINE_ENTRY = re.compile(r"^\s*deb(?:-src)?\s+(?:\[[^\]]*\]\s+)?(\S+)")
FIELD = re.compile(r"^([A-Za-z0-9-]+):\s*(.*)$")


def one_line_uris(lines: list[str]) -> list[str]:
    """The URI of every entry of a one-line-style file (sources.list, *.list)."""
    return [match.group(1) for line in lines if (match := ONE_LINE_ENTRY.match(line))]


def deb822_uris(lines: list[str]) -> list[str]:
    """The URIs of every stanza of a deb822 *.sources file that is not disabled (Enabled: no)."""
    uris: list[str] = []
    stanza: dict[str, str] = {}
    field = ""

    def close() -> None:
        if stanza.get("enabled", "yes").strip().lower() != "no":
            uris.extend(stanza.get("uris", "").split())
        stanza.clear()

    for line in [*lines, ""]:
        if not line.strip():
            close()
            field = ""
        elif line.startswith("#"):
            continue
        elif line[0] in " \t" and field:
            stanza[field] += " " + line.strip()
        elif match := FIELD.match(line):
            field = match.group(1).lower()
            stanza[field] = match.group(2)
    return uris


class AptSourceUris(FactBase[dict[str, list[str]]]):
    """
    Returns the URIs each of apt's source files names: the given files, and every ``*.list``
    and ``*.sources`` file in /etc/apt/sources.list.d.

    .. code:: python

        {"/etc/apt/sources.list.d/extra.list": ["http://deb.example.net/debian"]}
    """

    default = dict

    @override
    def command(self, files: list[str]) -> StringCommand:
        return script_command(("sources",), list(files), sources_dir=SOURCES_DIR)

    @override
    def process(self, output: list[str]) -> dict[str, list[str]]:
        found = {}
        for path, lines in section_lines(output).items():
            text = [line[1:] if line.startswith("|") else line for line in lines]
            found[path] = deb822_uris(text) if path.endswith(".sources") else one_line_uris(text)
        return found
