"""Postfix: the main.cf settings twinstore manages, read in one command."""

from __future__ import annotations

from pyinfra.api import FactBase, QuoteString, StringCommand
from typing_extensions import override


class PostfixSettings(FactBase[dict[str, str]]):
    """
    Returns the values postfix uses for the given main.cf parameters (``postconf -h``), or an
    empty dict when postfix is not installed.

    .. code:: python

        {"relayhost": "[192.168.1.25]", "inet_interfaces": "loopback-only"}
    """

    default = dict

    @override
    def requires_command(self, names: list[str]) -> str:
        return "postconf"

    @override
    def command(self, names: list[str]) -> StringCommand:
        # name = value per line, the values as postfix reads them (defaults included).
        return StringCommand("postconf", *[QuoteString(name) for name in names])

    @override
    def process(self, output: list[str]) -> dict[str, str]:
        settings = {}
        for line in output:
            name, separator, value = line.partition(" = ")
            if separator:
                settings[name.strip()] = value.strip()
            elif line.endswith(" ="):
                settings[line[:-2].strip()] = ""
        return settings
