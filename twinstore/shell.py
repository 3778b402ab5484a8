"""Shell scripts shipped as package files (facts/scripts/*.sh, operations/scripts/*.sh), and
how they are run: ``sh -c SCRIPT sh ARG...`` (an operation's) or ``( set -- ARG...; SCRIPT )``
(a fact's), each value assigned first, quoted for sh."""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from functools import cache
from importlib.resources import files

from pyinfra.api import QuoteString, StringCommand


@cache
def script_file(package: str, name: str) -> str:
    """<package>/scripts/<name>.sh, as shipped with the package."""
    return (files(package) / "scripts" / f"{name}.sh").read_text()


def script_text(package: str, names: Sequence[str], values: dict[str, object]) -> str:
    """A package's scripts joined in order, after one shell assignment per value (quoted for sh)."""
    prelude = "".join(f"{key}={shlex.quote(str(value))}\n" for key, value in values.items())
    return prelude + "".join(script_file(package, name) for name in names)


def sh_command(text: str, arguments: Sequence[object]) -> StringCommand:
    """``sh -c TEXT sh ARG...``: each argument one word, the script's $1, $2, ..."""
    return StringCommand("sh", "-c", QuoteString(text), "sh", *(QuoteString(str(value)) for value in arguments))


def subshell_command(text: str, arguments: Sequence[object]) -> StringCommand:
    """``( set -- ARG... <newline> TEXT <newline> )``: each argument one word, the script's $1, $2, ...

    A fact's script runs in a subshell of the shell that runs the command: inside the deploy's
    combined read that is a fork, where ``sh -c`` is a fork and a new shell (4 ms against 27 ms
    under TCG, for each of a dozen scripts on a storage node). The text is the package's own
    file, with its values assigned first by ``script_text``.
    """
    return StringCommand("(", "set", "--", *(QuoteString(str(value)) for value in arguments), f"\n{text}\n)")
