"""Jinja2 filters for twinstore's templates: a value is quoted for the language it lands in.

pyinfra renders ``files.template`` with its own Jinja2 environment; ``jinja_env_kwargs()`` adds
these filters to it (as an extension, the one way in through the environment's arguments).
"""

from __future__ import annotations

import shlex
from typing import Any

from jinja2 import Environment
from jinja2.ext import Extension


class Quoting(Extension):
    """``shell_quote``: one word for sh and bash, whatever the value holds."""

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        environment.filters["shell_quote"] = shlex.quote


def jinja_env_kwargs() -> dict[str, Any]:
    """files.template's jinja_env_kwargs for every twinstore template (a new dict: pyinfra pops from it)."""
    return {"extensions": [Quoting]}
