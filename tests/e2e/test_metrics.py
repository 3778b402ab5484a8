"""The pair's metrics as the site's monitoring sees them: node-exporter scraped from the client
network, its twinstore_* samples written by each node's timer (a pulled replication cable shows
in them: tests/e2e/test_fencing.py)."""

from __future__ import annotations

import testinfra

from operations.metrics import SERVICE, TEXTFILE, TIMER
from tests.e2e.conftest import Run
from tests.helpers import Samples, lab_storage_value, metric_samples

LAN = {"fiori": "192.168.1.6", "torchio": "192.168.1.7"}
SCRAPE = (
    "python3 -c 'import urllib.request, sys; "
    "sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=20).read().decode())' http://{}:9100/metrics"
)
# Where the lab's node-exporter reads it (group_data's metrics.textfile_directory).
WRITTEN = f"{lab_storage_value('metrics')['textfile_directory']}/{TEXTFILE}"
VOLUMES = ("/vol/rep-no", "/vol/rep-unison", "/vol/ocfs2-small", "/vol/ocfs2-large")


def scrape(client: testinfra.host.Host, node: str) -> Samples:
    """node-exporter on the node, as a Prometheus server on the client network scrapes it:
    sample name -> {labels: value}."""
    return metric_samples(client.check_output(SCRAPE.format(LAN[node])))


def write_now(node: testinfra.host.Host) -> None:
    """Run the node's metrics unit now (a oneshot: start returns when the file is written), so a
    scrape shows the pair as it is, not as it was up to one timer interval ago."""
    node.check_output(f"systemctl start {SERVICE}")


def test_node_exporter_serves_the_pairs_state_to_the_client_network(
    converge: Run, client: testinfra.host.Host, fiori: testinfra.host.Host, torchio: testinfra.host.Host
) -> None:
    for node, host in (("fiori", fiori), ("torchio", torchio)):
        # The timer writes the file on its own; the tests before this one changed the pair
        # (a volume unmounted and mounted again), so the sample read here is taken now.
        assert host.service(TIMER).is_running, node
        assert host.service(TIMER).is_enabled, node
        assert host.file(WRITTEN).exists, node
        write_now(host)
        samples = scrape(client, node)
        # node-exporter read the file without an error: the format is what it expects.
        assert samples["node_textfile_scrape_error"] == {"": 0.0}, node
        for name in ("connected", "primary", "peer_primary", "up_to_date", "peer_up_to_date"):
            assert samples[f"twinstore_drbd_{name}"] == {"resource=drbd0": 1.0, "resource=drbd1": 1.0}, (node, name)
        assert samples["twinstore_drbd_out_of_sync_bytes"] == {"resource=drbd0": 0.0, "resource=drbd1": 0.0}, node
        assert samples["twinstore_drbd_io_suspended"] == {"resource=drbd0": 0.0, "resource=drbd1": 0.0}, node
        assert samples["twinstore_o2cb_online"] == {"cluster=ocfs2": 1.0}, node
        mounted = samples["twinstore_volume_mounted"]
        assert set(mounted) == {
            f"mount_point={point}"
            for point in ("/vol/rep-no", "/vol/rep-unison", "/vol/ocfs2-small", "/vol/ocfs2-large")
        }
        assert set(mounted.values()) == {1.0}, (node, mounted)
        assert all(value > 0 for value in samples["twinstore_volume_free_bytes"].values()), node
        exported = samples["twinstore_nfs_exported"]
        assert len(exported) == len(lab_storage_value("nfs_exports")) and set(exported.values()) == {1.0}, (
            node,
            exported,
        )
    # fiori runs the nightly unison sync; the converge ran its first one.
    assert scrape(client, "fiori")["twinstore_unison_last_run_success"] == {"": 1.0}
    # Root's file, readable by node-exporter's own account.
    assert fiori.file(WRITTEN).mode == 0o644
