"""The OCFS2 fact on real output captured on the lab, and the o2cb files rendered from the configuration."""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from facts.ocfs2 import Ocfs2, Ocfs2State
from tests.helpers import real_views
from twinstore.config import StorageConfig

FIXTURES = Path(__file__).parent / "fixtures"
TEMPLATES = Path(__file__).parent.parent / "templates" / "ocfs2"


def state(fixture: str) -> Ocfs2State:
    return Ocfs2().process((FIXTURES / fixture).read_text().splitlines())


def test_offline_cluster_and_blank_devices() -> None:
    ocfs2 = state("ocfs2-offline-blank.txt")
    assert not ocfs2.online and ocfs2.dead_threshold is None and ocfs2.cluster_nodes == ()
    for device in ("/dev/drbd0", "/dev/drbd1"):
        assert ocfs2.devices[device].blank and not ocfs2.devices[device].has_ocfs2


def test_online_cluster_with_one_formatted_device() -> None:
    ocfs2 = state("ocfs2-online-drbd0-formatted.txt")
    assert ocfs2.online and ocfs2.dead_threshold == 61
    assert ocfs2.cluster_nodes == ("fiori", "torchio")
    drbd0 = ocfs2.devices["/dev/drbd0"]
    assert drbd0.has_ocfs2 and drbd0.label == "ocfs2-small" and not drbd0.blank
    assert ocfs2.devices["/dev/drbd1"].blank


def test_a_missing_device_is_neither_blank_nor_formatted() -> None:
    ocfs2 = Ocfs2().process(["#twinstore-section cluster", "#twinstore-section device /dev/drbd0", "MISSING=1"])
    assert not ocfs2.devices["/dev/drbd0"].exists
    assert not ocfs2.devices["/dev/drbd0"].blank and not ocfs2.devices["/dev/drbd0"].has_ocfs2


def test_a_signature_blkid_cannot_name_is_not_blank() -> None:
    ocfs2 = Ocfs2().process(["#twinstore-section device /dev/drbd1", "BLKID_RC=8"])
    assert ocfs2.devices["/dev/drbd1"].exists and not ocfs2.devices["/dev/drbd1"].blank


def render(template: str, config: StorageConfig, **extra: object) -> str:
    environment = Environment(loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined, keep_trailing_newline=True)
    return environment.get_template(template).render(cluster=config.ocfs2_cluster, **extra)


def storage_config(name: str) -> StorageConfig:
    view = next(view for view in real_views() if view.name == name)
    return StorageConfig.model_validate({key: view.data[key] for key in StorageConfig.model_fields if key in view.data})


def test_cluster_conf_is_the_same_on_both_nodes_and_has_the_procedures_values() -> None:
    texts = []
    for name in ("fiori", "torchio"):
        config = storage_config(name)
        nodes = [{"name": n.name, "address": str(n.lan_address), "number": n.o2cb_number} for n in config.nodes]
        texts.append(render("cluster.conf.j2", config, nodes=nodes))
    assert texts[0] == texts[1]
    stanzas = [stanza.strip().splitlines() for stanza in texts[0].split("\n\n")]
    assert stanzas[0][-4:] == ["cluster:", "\tnode_count = 2", "\theartbeat_mode = local", "\tname = ocfs2"]
    assert stanzas[1] == [
        "node:",
        "\tip_port = 7777",
        "\tip_address = 192.168.1.6",
        "\tnumber = 1",
        "\tname = fiori",
        "\tcluster = ocfs2",
    ]
    assert stanzas[2][3:5] == ["\tnumber = 2", "\tname = torchio"]


def test_o2cb_defaults_carry_the_procedures_timeouts() -> None:
    text = render("o2cb.j2", storage_config("fiori"))
    settings = dict(line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#"))
    assert settings == {
        "O2CB_ENABLED": "true",
        "O2CB_STACK": "o2cb",
        "O2CB_BOOTCLUSTER": "ocfs2",
        "O2CB_HEARTBEAT_THRESHOLD": "61",
        "O2CB_IDLE_TIMEOUT_MS": "60000",
        "O2CB_KEEPALIVE_DELAY_MS": "4000",
        "O2CB_RECONNECT_DELAY_MS": "4000",
    }
