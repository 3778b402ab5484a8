"""Shell scripts shipped as package files (facts/scripts/*.sh, operations/scripts/*.sh), and
the one way they are run: ``sh -c SCRIPT sh ARG...``, each value assigned first, quoted for sh."""

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
