"""NIS and the NFS client on the lab: the client guest is both the NIS master and an NFS client
(as group_data/all.py's nis_server names it); the maps point at the storage pair's exports."""

from __future__ import annotations

import uuid

import testinfra

from tests.e2e.conftest import LAB_INVENTORY, Run, run_pyinfra
from tests.helpers import LAB_GROUPS, ROOT, lab_storage_value, real_views


def client_value(key: str) -> object:
    view = next(v for v in real_views(ROOT / "lab" / "inventory.py", LAB_GROUPS) if v.name == "client")
    return view.data[key]


def storage_node_names_by_address() -> dict[str, str]:
    return {str(node["lan_address"]): str(node["name"]) for node in lab_storage_value("nodes")}


def test_the_client_finds_the_storage_through_nis_and_mounts_it_over_nfs(
    converge: Run, fiori: testinfra.host.Host, torchio: testinfra.host.Host, client: testinfra.host.Host
) -> None:
    maps = client_value("automount_maps")
    assert isinstance(maps, dict)
    pub = maps["auto.staging"]["pub"]
    # nosuid,nodev added by default: root on one client cannot plant a setuid file for another.
    expected = f"{','.join([*pub['options'], 'nosuid', 'nodev'])} {','.join(pub['servers'])}:{pub['path']}"
    assert client.check_output("ypwhich") in ("192.168.1.10", "client", "localhost")
    assert client.check_output("ypmatch pub auto.staging") == expected
    alexis = maps["auto.home"]["alexis"]
    assert client.check_output("ypmatch alexis auto.home").endswith(f":{alexis['path']}")
    assert "domain pasta.net server 192.168.1.10" in client.file("/etc/yp.conf").content_string
    # The client writes through /pub -> staging/pub (autofs, NFS); the file lands on the storage
    # node autofs chose. /vol/pub is on rep-unison (kept in step nightly, not instantly), so the
    # test reads it back on that node.
    assert client.file("/pub").linked_to == "/staging/pub"
    assert client.check_output("readlink /pub") == "staging/pub"
    token = uuid.uuid4().hex
    client.check_output(f"echo {token} > /pub/nis-{token} && sync")
    source, fstype = client.check_output("findmnt -n -o SOURCE,FSTYPE /staging/pub").split()
    server_address, exported = source.split(":", 1)
    assert fstype == "nfs" and exported == pub["path"], (source, fstype)
    mounted_with = client.check_output("findmnt -n -o OPTIONS /staging/pub").split(",")
    assert "nosuid" in mounted_with and "nodev" in mounted_with, mounted_with
    node = {"fiori": fiori, "torchio": torchio}[storage_node_names_by_address()[server_address]]
    try:
        assert node.check_output(f"cat /vol/pub/nis-{token}") == token
    finally:
        client.check_output(f"rm -f /pub/nis-{token}")


def test_each_storage_node_serves_itself_a_copy_of_the_masters_maps_and_its_timer_keeps_it_current(
    converge: Run, fiori: testinfra.host.Host, torchio: testinfra.host.Host, client: testinfra.host.Host
) -> None:
    """Procedure row 62: yp.conf "server localhost" on both nodes. The copy is what lets a node boot
    with the master down (tests/e2e/test_ocfs2.py reboots both nodes so)."""
    domain = lab_storage_value("nis_domain")
    for node in (fiori, torchio):
        assert f"domain {domain} server localhost" in node.file("/etc/yp.conf").content_string
        assert node.check_output(f"ypwhich -d {domain}") in ("localhost", "127.0.0.1")
        assert node.check_output(f"ypcat -d {domain} -k auto.home") == client.check_output("ypcat -k auto.home")
        assert node.service("twinstore-nis-transfer.timer").is_enabled
        # Only the node itself may ask its NIS server.
        assert node.file("/etc/ypserv.securenets").content_string.split("\n")[1:] == ["255.0.0.0\t127.0.0.0", ""]
    # A key the master adds (not one of twinstore's) reaches each node at its timer's next copy.
    key = f"nis-{uuid.uuid4().hex[:8]}"
    client.check_output(f"echo '{key} -rw 192.168.1.6:/vol/home/{key}' >> /etc/auto.home && make -C /var/yp")
    try:
        for node in (fiori, torchio):
            assert node.run(f"ypmatch -d {domain} {key} auto.home").rc != 0
            node.check_output("systemctl start twinstore-nis-transfer.service")
            assert node.check_output(f"ypmatch -d {domain} {key} auto.home").endswith(f"/vol/home/{key}")
    finally:
        client.check_output(f"sed -i '/^{key} /d' /etc/auto.home && make -C /var/yp")
        for node in (fiori, torchio):
            node.check_output("systemctl start twinstore-nis-transfer.service")


def test_a_storage_run_with_the_nis_master_down_warns_and_the_timer_copies_the_map_later(
    converge: Run, fiori: testinfra.host.Host, client: testinfra.host.Host
) -> None:
    """The deploy of a storage node never depends on the NIS master (it may be a VM this pair will
    carry): a map it cannot copy is a warning, and the node's timer copies it later."""
    domain = lab_storage_value("nis_domain")
    fiori.check_output(f"rm /var/yp/{domain}/auto.staging")
    client.check_output("systemctl stop ypserv.service")
    try:
        run = run_pyinfra("-y", "--limit", "storage", LAB_INVENTORY, "deploy.py")
    finally:
        client.check_output("systemctl start ypserv.service")
    assert run.returncode == 0, run.output[-3000:]
    assert "not copied from the NIS master 192.168.1.10" in run.output and "Error (ignored)" in run.output
    fiori.check_output("systemctl start twinstore-nis-transfer.service")
    assert fiori.check_output(f"ypcat -d {domain} -k auto.staging") == client.check_output("ypcat -k auto.staging")
