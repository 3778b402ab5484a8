"""The packet filter: the peer alone on the replication ports, the client networks on the rest."""

from __future__ import annotations

from ipaddress import IPv4Network
from pathlib import Path
from types import SimpleNamespace
from typing import cast

from pyinfra.api.operation import OperationMeta
from pyinfra.context import ctx_host, ctx_state

from facts.firewall import PacketFilterLoaded
from operations.firewall import rules_loaded
from tests.helpers import FakeHost, FakeOperationMeta, real_storage_config, render_template

TEMPLATE = Path(__file__).parents[1] / "templates" / "firewall" / "twinstore.nft.j2"


def rendered(**changes: object) -> str:
    config = real_storage_config(**changes)
    return render_template(
        TEMPLATE,
        peer_addresses=config.peer_addresses("fiori"),
        replication_ports=config.replication_ports,
        client_sources=config.nfs_client_sources(IPv4Network("192.168.1.0/24")),
    )


def test_the_replication_ports_are_the_peers_alone() -> None:
    text = rendered()
    assert "elements = { 192.168.1.7, 10.99.0.7 }" in text
    assert "tcp dport { 7777, 7790, 7791 } ip saddr @replication_peer accept" in text
    assert "tcp dport { 7777, 7790, 7791 } drop" in text
    # Dropped before the client networks' rule: the order is the rule.
    assert text.index("dport { 7777, 7790, 7791 } drop") < text.index("ip saddr @nfs_clients accept")
    assert "policy drop;" in text and "ct state established,related accept" in text
    assert text.startswith("#!/usr/sbin/nft -f") and "table inet twinstore\ndelete table inet twinstore\n" in text


def test_without_a_back_to_back_address_the_peer_is_its_lan_address() -> None:
    config = real_storage_config()
    nodes = [node.model_dump(mode="json") for node in config.nodes]
    nodes[1]["link_address"] = None
    assert "elements = { 192.168.1.7 }" in rendered(nodes=nodes)


def test_clients_given_by_address_outside_the_client_network_are_nfs_clients() -> None:
    config = real_storage_config()
    exports = [export.model_dump() for export in config.nfs_exports]
    exports[0]["clients"] = ["10.1.0.0/16", "backup"]
    exports[1]["no_root_squash_hosts"] = ["172.16.0.5", "192.168.1.10"]
    assert "elements = { 192.168.1.0/24, 10.1.0.0/16, 172.16.0.5, 192.168.1.10 }" in rendered(nfs_exports=exports)


def plan(loaded: bool, changed: bool) -> tuple[list[str], FakeHost]:
    host = FakeHost({PacketFilterLoaded: loaded})
    with ctx_host.use(host), ctx_state.use(SimpleNamespace(is_executing=False)):
        meta = cast(OperationMeta, FakeOperationMeta(changed))
        commands = [c.get_raw_value() for c in rules_loaded._inner(path="/etc/twinstore/nftables.nft", rules_file=meta)]
    return commands, host


def test_loaded_when_the_file_changed_or_the_kernel_lacks_the_table() -> None:
    assert plan(loaded=True, changed=True)[0] == ["nft -f /etc/twinstore/nftables.nft"]
    assert plan(loaded=False, changed=False)[0] == ["nft -f /etc/twinstore/nftables.nft"]
    commands, host = plan(loaded=True, changed=False)
    assert commands == [] and host.noops == ["the packet filter is loaded"]


def test_the_fact_reads_whether_the_table_is_there() -> None:
    fact = PacketFilterLoaded()
    assert fact.process(["loaded"]) is True
    assert fact.process([]) is False
