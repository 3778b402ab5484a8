"""What the facts share: their shell scripts (facts/scripts/*.sh) and the sections they print."""

from __future__ import annotations

from collections.abc import Sequence

from pyinfra.api import StringCommand

from twinstore import shell

# Starts each section of a fact script's output: "#twinstore-section NAME".
SECTION = "#twinstore-section "


def script_file(name: str) -> str:
    """facts/scripts/<name>.sh, as shipped with the package."""
    return shell.script_file("facts", name)


def script_text(*names: str, **values: object) -> str:
    """Fact scripts joined in order, after one shell assignment per value (quoted for sh) and,
    for a script that prints sections, ``section``: the SECTION marker."""
    body = "".join(script_file(name) for name in names)
    assignments = {"section": SECTION, **values} if "${section}" in body else values
    return shell.script_text("facts", names, assignments)


def script_command(names: tuple[str, ...], arguments: Sequence[object], **values: object) -> StringCommand:
    """The command that runs the fact scripts in a subshell, each argument one word (its $1, $2, ...).

    + names: the scripts, joined in order (facts/scripts/<name>.sh)
    + arguments: the positional arguments
    + values: shell variables the scripts read
    """
    return shell.subshell_command(script_text(*names, **values), arguments)


def key_values(lines: list[str]) -> list[tuple[str, str]]:
    """The KEY=value lines of a section, in order (a key may repeat); other lines are skipped."""
    return [(key, value) for key, _, value in (line.partition("=") for line in lines if "=" in line)]


def section_lines(output: list[str]) -> dict[str, list[str]]:
    """A fact script's output split at its SECTION markers: section name -> its lines."""
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in output:
        if line.startswith(SECTION):
            current = sections.setdefault(line[len(SECTION) :].strip(), [])
        elif current is not None:
            current.append(line)
    return sections
