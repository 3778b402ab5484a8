"""Mail relay on the lab: the client guest plays the site's relay; a mail to root on each
storage node arrives there, sent to the relay's IP address (no DNS)."""

from __future__ import annotations

import time
import uuid

import testinfra

from tests.e2e.conftest import Run, smtp_sink
from tests.helpers import lab_storage_value


def test_mail_to_root_leaves_each_node_through_the_relay(
    converge: Run, fiori: testinfra.host.Host, torchio: testinfra.host.Host, client: testinfra.host.Host
) -> None:
    relay = lab_storage_value("mail_relay")
    assert relay, "the lab configures no mail relay"
    for node in (fiori, torchio):
        assert node.check_output("postconf -h relayhost") == f"[{relay}]"
        assert node.check_output("postconf -h inet_interfaces") == "loopback-only"
        assert node.check_output("postconf -h myhostname") == node.check_output("hostname")
    with smtp_sink(client, relay) as received_so_far:
        tokens = {}
        for node in (fiori, torchio):
            tokens[node] = f"twinstore-relay-{uuid.uuid4().hex}"
            node.check_output(f"printf 'Subject: relay test\\n\\n{tokens[node]}\\n' | /usr/sbin/sendmail root")
            node.check_output("postqueue -f")
        deadline = time.monotonic() + 120
        received = ""
        while time.monotonic() < deadline:
            received = received_so_far()
            if all(token in received for token in tokens.values()):
                break
            time.sleep(3)
        queues = {node.backend.hostname: node.check_output("postqueue -p") for node in (fiori, torchio)}
        assert all(token in received for token in tokens.values()), (received[-2000:], queues)
