"""The packet filter on the lab: only the peer reaches DRBD and o2cb, the client still mounts,
and loading the filter cuts neither the deploy's SSH session nor the replication."""

from __future__ import annotations

import testinfra

from tests.e2e.conftest import LAB_INVENTORY, Run, run_pyinfra

NODES = {"fiori": "192.168.1.6", "torchio": "192.168.1.7"}
REPLICATION_PORTS = (7777, 7790, 7791)
# timeout exits 124 when the connection attempt got no answer at all (dropped), bash 1 when it
# was refused (nothing listens): the two say different things.
DROPPED = 124


def probe(node: testinfra.host.Host, address: str, port: int) -> int:
    return int(node.run(f"timeout 5 bash -c '</dev/tcp/{address}/{port}'").rc)


def test_the_client_reaches_nfs_and_ssh_but_not_drbd_or_o2cb(converge: Run, client: testinfra.host.Host) -> None:
    for address in NODES.values():
        for port in REPLICATION_PORTS:
            assert probe(client, address, port) == DROPPED, f"{address}:{port} answered the client"
        for port in (22, 111, 2049):
            assert probe(client, address, port) == 0, f"{address}:{port} did not answer the client"
        # showmount names the directories the exports resolve to.
        assert "/vol/ocfs2-small/home" in client.check_output(f"showmount -e {address}")


def test_loading_the_filter_keeps_the_pair_connected_and_the_run_alive(
    converge: Run, fiori: testinfra.host.Host, torchio: testinfra.host.Host
) -> None:
    for node in (fiori, torchio):
        node.check_output("nft delete table inet twinstore && dmesg -C")
    preview = run_pyinfra("--dry", LAB_INVENTORY, "deploy.py")
    assert preview.returncode == 0, preview.output[-3000:]
    assert preview.planned_changes() == {
        "Packet filter | Packet filter loaded": "2 (fiori, torchio)",
        "Flush what this run wrote to disk": "2 (fiori, torchio)",
    }, preview.output[-3000:]
    loaded = run_pyinfra("-y", LAB_INVENTORY, "deploy.py")
    assert loaded.returncode == 0, loaded.output[-3000:]
    for node in (fiori, torchio):
        assert "policy drop" in node.check_output("nft list table inet twinstore")
        state = node.check_output("cat /proc/drbd")
        assert state.count("cs:Connected ro:Primary/Primary ds:UpToDate/UpToDate") == 2, state
        log = node.check_output("dmesg | grep -E 'drbd|o2net' || true")
        assert "conn(" not in log and "o2net: Connection to node" not in log, log
