"""Names without other machines, on the lab: the configured upstream resolver (192.168.1.1) is no
machine of the lab and the guests reach nothing outside, so every upstream is unreachable."""

from __future__ import annotations

import testinfra

from tests.e2e.conftest import Run
from tests.helpers import lab_storage_value

# A DNS query for localhost. (A record) sent to the local resolver over UDP; prints the response
# code, the number of answers and the last answer's address. unbound answers localhost itself.
QUERY_LOCALHOST = r"""python3 -c '
import socket, struct
query = struct.pack(">6H", 0x7457, 0x0100, 1, 0, 0, 0) + b"\x09localhost\x00" + struct.pack(">2H", 1, 1)
with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
    s.settimeout(5)
    s.sendto(query, ("127.0.0.1", 53))
    answer = s.recv(512)
print(answer[3] & 15, struct.unpack(">H", answer[6:8])[0], socket.inet_ntoa(answer[-4:]))
'"""


def meaningful(text: str) -> list[str]:
    return [line.split("#")[0].strip() for line in text.splitlines() if line.split("#")[0].strip()]


def test_each_node_finds_its_peer_by_name_with_every_upstream_unreachable(
    converge: Run, fiori: testinfra.host.Host, torchio: testinfra.host.Host
) -> None:
    upstreams = lab_storage_value("resolver_upstreams")
    assert upstreams, "group_data names no upstream resolver: nothing to show unreachable"
    nodes = {node["name"]: node["lan_address"] for node in lab_storage_value("nodes")}
    for node, peer in ((fiori, "torchio"), (torchio, "fiori")):
        for upstream in upstreams:
            assert node.run(f"ping -c 1 -W 2 {upstream}").rc != 0, f"{upstream} answers: the test proves nothing"
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
        # The local resolver answers on 127.0.0.1 (and only there) without any upstream.
        assert node.check_output(QUERY_LOCALHOST) == "0 1 127.0.0.1"
        listening = node.check_output("ss -Hlnu 'sport = :53'")
        assert "127.0.0.1:53" in listening and "0.0.0.0:53" not in listening, listening
        assert node.service("unbound").is_enabled
        resolver = node.file("/etc/unbound/unbound.conf.d/twinstore.conf").content_string
        assert [f"forward-addr: {upstream}" in resolver for upstream in upstreams] == [True] * len(upstreams)
