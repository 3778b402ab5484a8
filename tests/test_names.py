"""The resolver's, resolv.conf's and /etc/hosts' contents rendered from the configuration."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from operations.names import TEMPLATES, hosts_entries
from tests.helpers import real_storage_config, render_template
from twinstore.config import Resolver


def render(name: str, **values: object) -> list[str]:
    text = render_template(TEMPLATES / name, **values)
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def test_hosts_holds_localhost_and_the_pairs_nodes_by_short_name() -> None:
    lines = render("hosts.j2", entries=hosts_entries(real_storage_config()))
    assert lines == [
        "127.0.0.1\tlocalhost",
        "192.168.1.6\tfiori",
        "192.168.1.7\ttorchio",
        "::1\tlocalhost ip6-localhost ip6-loopback",
    ]


def test_extra_hosts_follow_the_pair() -> None:
    lines = render("hosts.j2", entries=hosts_entries(real_storage_config(extra_hosts={"rotini": "192.168.1.10"})))
    assert lines[3] == "192.168.1.10\trotini"


def resolver_lines(**resolver: object) -> list[str]:
    """The resolver's file as the deploy renders it for a `resolver` value of group_data."""
    config = real_storage_config(resolver=resolver).resolver
    return render(
        "unbound.conf.j2",
        upstreams=[str(address) for address in config.upstreams],
        root_servers=[str(address) for address in config.root_servers],
        dnssec=config.dnssec,
    )


def test_by_default_the_resolver_resolves_from_the_root_servers_and_validates() -> None:
    assert real_storage_config().resolver == Resolver()
    assert resolver_lines() == ["server:", "interface: 127.0.0.1", "access-control: 127.0.0.0/8 allow"]


def test_forwarders_only_when_configured() -> None:
    assert resolver_lines(upstreams=["192.168.1.1", "192.168.1.2"]) == [
        "server:",
        "interface: 127.0.0.1",
        "access-control: 127.0.0.0/8 allow",
        "forward-zone:",
        'name: "."',
        "forward-addr: 192.168.1.1",
        "forward-addr: 192.168.1.2",
    ]


def test_a_private_root_replaces_the_internets_root_servers_without_validation() -> None:
    assert resolver_lines(root_servers=["192.168.1.10"], dnssec=False) == [
        "server:",
        "interface: 127.0.0.1",
        "access-control: 127.0.0.0/8 allow",
        'module-config: "iterator"',
        "stub-zone:",
        'name: "."',
        "stub-addr: 192.168.1.10",
    ]


@pytest.mark.parametrize(
    ("resolver", "rule"),
    [
        ({"upstreams": ["192.168.1.1"], "root_servers": ["192.168.1.10"], "dnssec": False}, "both set"),
        ({"root_servers": ["192.168.1.10"]}, "set resolver.dnssec = False"),
        ({"upstreams": ["dns.example.net"]}, "IPv4"),
    ],
)
def test_a_resolver_that_cannot_work_is_refused_with_the_rule(resolver: dict[str, object], rule: str) -> None:
    with pytest.raises(ValidationError) as refused:
        real_storage_config(resolver=resolver)
    assert rule in str(refused.value)
    assert "resolver" in str(refused.value)


def test_resolv_conf_names_only_the_local_resolver() -> None:
    assert render("resolv.conf.j2") == ["nameserver 127.0.0.1"]
