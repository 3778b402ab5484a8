"""Names without other machines, on the lab. The guests reach nothing outside; the client guest is
the lab's DNS root (lab/dns.py), which the nodes' resolvers recurse from, with no forwarder."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import testinfra

from lab.dns import ROOT_SERVER, SITE_NAMES, SITE_ZONE
from tests.e2e.conftest import Run
from tests.helpers import lab_storage_value

# A DNS query (A record) sent to the local resolver over UDP; prints the response code (0 found,
# 2 server failure, 3 no such name), the number of answers and the last answer's address, or
# "no answer" when none came within 10 s (unbound may still be trying an unreachable server).
QUERY = r"""python3 -c '
import socket, struct, sys
name = b"".join(bytes([len(part)]) + part for part in sys.argv[1].encode().split(b".")) + b"\x00"
query = struct.pack(">6H", 0x7457, 0x0100, 1, 0, 0, 0) + name + struct.pack(">2H", 1, 1)
with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
    s.settimeout(10)
    s.sendto(query, ("127.0.0.1", 53))
    try:
        answer = s.recv(512)
    except TimeoutError:
        print("no answer")
        sys.exit(0)
print(answer[3] & 15, struct.unpack(">H", answer[6:8])[0], socket.inet_ntoa(answer[-4:]))
' {name}"""


def query(node: testinfra.host.Host, name: str) -> list[str]:
    """[response code, answers] of the node's local resolver for a name."""
    return node.check_output(QUERY.format(name=name)).split()[:2]


RESOLVER_FILE = "/etc/unbound/unbound.conf.d/twinstore.conf"


def meaningful(text: str) -> list[str]:
    return [line.split("#")[0].strip() for line in text.splitlines() if line.split("#")[0].strip()]


def test_each_node_resolves_the_sites_names_from_the_root_with_no_forwarder(
    converge: Run, fiori: testinfra.host.Host, torchio: testinfra.host.Host
) -> None:
    """The procedure's "caching nameserver with no local referrer": group_data names no forwarder,
    and a name of the site's zone is found by walking down from the root servers."""
    resolver = lab_storage_value("resolver")
    assert resolver["upstreams"] == [] and resolver["root_servers"] == [ROOT_SERVER]
    for node in (fiori, torchio):
        lines = meaningful(node.file(RESOLVER_FILE).content_string)
        assert not [line for line in lines if line.startswith(("forward-zone", "forward-addr"))], lines
        assert lines[-3:] == ["stub-zone:", 'name: "."', f"stub-addr: {ROOT_SERVER}"]
        # The root knows only where pasta.net is served; the node's resolver asks there next.
        for name in ("nis", "fiori"):
            assert node.check_output(f"getent hosts {name}.{SITE_ZONE}").split() == [
                SITE_NAMES[name],
                f"{name}.{SITE_ZONE}",
            ]
        # A name no zone of the lab holds: the root says there is no such name.
        assert query(node, "deb.debian.org") == ["3", "0"]


@pytest.fixture
def no_dns_server(
    client: testinfra.host.Host, fiori: testinfra.host.Host, torchio: testinfra.host.Host
) -> Iterator[None]:
    """The lab's only DNS server (its root) stopped for the test: no name server answers anywhere,
    and the nodes' resolvers start with empty caches."""
    client.check_output("systemctl stop unbound.service")
    for node in (fiori, torchio):
        node.check_output("systemctl restart unbound.service")
    try:
        yield
    finally:
        client.check_output("systemctl start unbound.service")
        # unbound keeps a server that did not answer marked down for a while: a fresh start
        # leaves the tests after this one a root that answers.
        for node in (fiori, torchio):
            node.check_output("systemctl restart unbound.service")


def test_each_node_finds_its_peer_by_name_with_no_dns_server(
    converge: Run, no_dns_server: None, fiori: testinfra.host.Host, torchio: testinfra.host.Host
) -> None:
    nodes = {node["name"]: node["lan_address"] for node in lab_storage_value("nodes")}
    for node, peer in ((fiori, "torchio"), (torchio, "fiori")):
        assert node.run(f"ping -c 1 -W 2 {ROOT_SERVER}").rc == 0, "the client guest should be up"
        assert meaningful(node.file("/etc/resolv.conf").content_string) == ["nameserver 127.0.0.1"]
        assert [line.split() for line in meaningful(node.file("/etc/hosts").content_string)] == [
            ["127.0.0.1", "localhost"],
            ["192.168.1.6", "fiori"],
            ["192.168.1.7", "torchio"],
            ["::1", "localhost", "ip6-localhost", "ip6-loopback"],
        ]
        # The procedure's check: ping the other node by name.
        assert node.check_output(f"getent hosts {peer}").split() == [nodes[peer], peer]
        assert node.run(f"ping -c 1 -W 5 {peer}").rc == 0
        # The local resolver answers on 127.0.0.1 (and only there) with no DNS server anywhere.
        assert node.check_output(QUERY.format(name="localhost")) == "0 1 127.0.0.1"
        # No answer, or a server failure: never an address.
        assert query(node, f"nis.{SITE_ZONE}") in (["2", "0"], ["no", "answer"]), "a name resolved with no DNS server"
        listening = node.check_output("ss -Hlnu 'sport = :53'")
        assert "127.0.0.1:53" in listening and "0.0.0.0:53" not in listening, listening
        assert node.service("unbound").is_enabled
