"""The resolver's, resolv.conf's and /etc/hosts' contents rendered from the configuration."""

from __future__ import annotations

from operations.names import TEMPLATES, hosts_entries
from tests.helpers import real_storage_config, render_template


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


def test_the_resolver_answers_on_loopback_and_forwards_to_the_upstreams() -> None:
    lines = render("unbound.conf.j2", upstreams=["192.168.1.1", "192.168.1.2"])
    assert lines == [
        "server:",
        "interface: 127.0.0.1",
        "access-control: 127.0.0.0/8 allow",
        "forward-zone:",
        'name: "."',
        "forward-addr: 192.168.1.1",
        "forward-addr: 192.168.1.2",
    ]


def test_without_upstreams_the_resolver_forwards_nowhere() -> None:
    lines = render("unbound.conf.j2", upstreams=[])
    assert "forward-zone:" not in lines and lines[0] == "server:"


def test_resolv_conf_names_only_the_local_resolver() -> None:
    assert render("resolv.conf.j2") == ["nameserver 127.0.0.1"]
