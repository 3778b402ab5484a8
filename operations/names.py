"""Names without other machines: a caching resolver, /etc/resolv.conf and /etc/hosts.

The procedure's "de-chicken-and-egging": the pair may carry the VM that serves the site's DNS,
so it must boot and find its peer without it. Debian's unbound answers on 127.0.0.1 only and
resolves from the root servers itself (forwarders only when configured);
/etc/resolv.conf names it alone; /etc/hosts holds localhost and the pair's nodes by short name,
so each node resolves its peer with every DNS server down. A symlinked /etc/resolv.conf
(systemd-resolved, resolvconf) is replaced by the file, and dhclient, where present, is told
not to rewrite it.
"""

from __future__ import annotations

import posixpath
from pathlib import Path

from pyinfra import host
from pyinfra.api import deploy
from pyinfra.facts.files import Directory
from pyinfra.operations import files, server, systemd
from pyinfra.operations.util import any_changed

from operations.util import unit_state
from twinstore.config import StorageConfig
from twinstore.fact_cache import FactReads, prefetch_reads

TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "names"
RESOLVER_FILE = "/etc/unbound/unbound.conf.d/twinstore.conf"
RESOLV_CONF = "/etc/resolv.conf"
HOSTS_FILE = "/etc/hosts"
DHCLIENT_HOOK = "/etc/dhcp/dhclient-enter-hooks.d/twinstore-resolv-conf"


def hosts_entries(config: StorageConfig) -> list[tuple[str, list[str]]]:
    """/etc/hosts as the procedure wants it: localhost, the pair's nodes, then extra_hosts."""
    entries = [("127.0.0.1", ["localhost"])]
    entries += [(str(node.lan_address), [node.name]) for node in config.nodes]
    entries += [(str(address), [name]) for name, address in config.extra_hosts.items()]
    return entries


def fact_reads(config: StorageConfig) -> FactReads:
    return FactReads(
        files=[RESOLVER_FILE, RESOLV_CONF, HOSTS_FILE, DHCLIENT_HOOK],
        directories=[posixpath.dirname(DHCLIENT_HOOK)],
        services=["unbound.service"],
    )


@deploy("Names without other machines")
def configure_names(config: StorageConfig) -> None:
    prefetch_reads(host, fact_reads(config))
    files.template(
        name=f"Only localhost and the pair's nodes in {HOSTS_FILE}",
        src=str(TEMPLATES / "hosts.j2"),
        dest=HOSTS_FILE,
        entries=hosts_entries(config),
    )
    resolver = files.template(
        name=f"Caching resolver on 127.0.0.1 ({RESOLVER_FILE})",
        src=str(TEMPLATES / "unbound.conf.j2"),
        dest=RESOLVER_FILE,
        upstreams=[str(address) for address in config.resolver.upstreams],
        root_servers=[str(address) for address in config.resolver.root_servers],
        dnssec=config.resolver.dnssec,
    )
    # A broken file stops the run here, before the running resolver is restarted with it.
    server.shell(name="Check the resolver's configuration", commands=["unbound-checkconf"], _if=any_changed(resolver))
    systemd.service(
        name="Restart the resolver for its new configuration",
        service="unbound.service",
        running=True,
        restarted=True,
        _if=any_changed(resolver),
    )
    unit_state(name="Resolver running and started at boot", service="unbound.service", running=True, enabled=True)
    # Only now that the resolver answers: resolv.conf never names a resolver that is not there.
    files.template(
        name=f"{RESOLV_CONF} names the local resolver only", src=str(TEMPLATES / "resolv.conf.j2"), dest=RESOLV_CONF
    )
    if host.get_fact(Directory, path=posixpath.dirname(DHCLIENT_HOOK)):
        files.template(
            name="dhclient leaves resolv.conf alone",
            src=str(TEMPLATES / "dhclient-hook.j2"),
            dest=DHCLIENT_HOOK,
        )
