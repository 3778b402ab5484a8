"""NIS: the running domain name, whether the master's domain exists, what ypbind is bound to."""

from __future__ import annotations

from dataclasses import dataclass

from pyinfra.api import FactBase, StringCommand
from typing_extensions import override

from facts.util import script_command


@dataclass(frozen=True)
class NisState:
    # What `domainname` prints now ("(none)" when unset).
    domainname: str = ""
    # /var/yp/<domain> exists: ypinit -m ran for this domain, its maps are there.
    domain_initialised: bool = False
    # The map files in /var/yp/<domain>.
    maps: tuple[str, ...] = ()


class Nis(FactBase[NisState]):
    """
    Returns the running NIS domain name and whether /var/yp holds the given domain.

    .. code:: python

        NisState(domainname="pasta.net", domain_initialised=True, maps=("auto.home", "passwd.byname"))
    """

    default = NisState

    @override
    def command(self, domain: str) -> StringCommand:
        return script_command(("nis",), [domain])

    @override
    def process(self, output: list[str]) -> NisState:
        values = dict(line.split("=", 1) for line in output if "=" in line)
        return NisState(
            domainname=values.get("DOMAINNAME", ""),
            domain_initialised="DOMAIN_DIR" in values,
            maps=tuple(sorted(values.get("MAPS", "").split())),
        )
