"""Whether twinstore's packet filter is loaded in the kernel (nftables)."""

from __future__ import annotations

from pyinfra.api import FactBase
from typing_extensions import override

TABLE = "inet twinstore"


class PacketFilterLoaded(FactBase[bool]):
    """
    Whether the kernel holds twinstore's nftables table (false when nft is not installed yet).

    .. code:: python

        True
    """

    @override
    @staticmethod
    def default() -> bool:
        return False

    @override
    def command(self) -> str:
        return f"if command -v nft >/dev/null && nft list table {TABLE} >/dev/null 2>&1; then echo loaded; fi"

    @override
    def process(self, output: list[str]) -> bool:
        return output == ["loaded"]
