"""A packet filter on the storage nodes: nftables, Debian's own, loaded at boot by nftables.service.

DRBD and o2cb (which authenticates nothing) listen on the LAN; only the peer may reach them.
NFS and the rest only from the client networks; SSH from anywhere, as before. The table is
replaced in one transaction and established connections are accepted first, so loading it
cuts neither the deploy's SSH session nor a running DRBD or o2cb connection.
"""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path

from pyinfra import host
from pyinfra.api import QuoteString, StringCommand, deploy, operation
from pyinfra.api.operation import OperationMeta
from pyinfra.operations import files

from facts.firewall import PacketFilterLoaded
from operations.report import changes
from operations.util import unit_state
from twinstore.config import SiteConfig, StorageConfig
from twinstore.fact_cache import FactReads, prefetch_reads

TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "firewall"
RULES_FILE = "/etc/twinstore/nftables.nft"
NFTABLES_CONF = "/etc/nftables.conf"
INCLUDE_LINE = f'include "{RULES_FILE}"'


@operation()
def rules_loaded(path: str, rules_file: OperationMeta) -> Generator[StringCommand, None, None]:
    """
    Load the packet filter when its file changed or the kernel lacks its table.

    + path: the rules file
    + rules_file: the operation that writes it
    """
    if host.get_fact(PacketFilterLoaded) and not changes(rules_file):
        host.noop("the packet filter is loaded")
        return
    # One transaction: on an error nothing changes.
    yield StringCommand("nft", "-f", QuoteString(path))


def fact_reads(config: StorageConfig) -> FactReads:
    return FactReads(
        files=[RULES_FILE],
        services=["nftables.service"],
        lines=[(NFTABLES_CONF, INCLUDE_LINE, False)],
        facts=[(PacketFilterLoaded, {})],
    )


@deploy("Packet filter")
def configure_firewall(config: StorageConfig, site: SiteConfig) -> None:
    prefetch_reads(host, fact_reads(config))
    rules = files.template(
        name=f"Packet filter rules ({RULES_FILE})",
        src=str(TEMPLATES / "twinstore.nft.j2"),
        dest=RULES_FILE,
        peer_addresses=config.peer_addresses(host.name),
        replication_ports=config.replication_ports,
        client_sources=config.nfs_client_sources(site.client_network),
    )
    files.line(name=f"nftables.service loads them at boot ({NFTABLES_CONF})", path=NFTABLES_CONF, line=INCLUDE_LINE)
    # Enabled only: starting it would run Debian's nftables.conf, which flushes every table.
    unit_state(name="nftables.service enabled", service="nftables.service", running=None, enabled=True)
    rules_loaded(name="Packet filter loaded", path=RULES_FILE, rules_file=rules)
