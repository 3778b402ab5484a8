"""NIS: the site's NIS master's maps, its clients' binding, and each storage node serving itself.

On the master (group ``nis_servers``) the procedure adds the storage's exports to the
automount maps (/etc/auto.home, /etc/auto.staging) and runs ``make -C /var/yp``. twinstore
owns one line per configured key in each map file (other keys stay as they are), names its
maps in /var/yp/Makefile (AUTO_MAPS and ALL, so a plain ``make -C /var/yp`` builds them), and
runs make only when a map or the Makefile changed. A master with no NIS domain yet is set up
with ``ypinit -m`` (no slaves); an existing domain is never set up again (ypinit empties it).

On the NFS clients (group ``nfs_clients``): ypbind bound to the configured server (yp.conf, not
broadcast); their automounts are operations/nfs_client.py.

On the storage nodes, the procedure's ``domain pasta.net server localhost`` (row 62: the peer's
back-to-back address may answer a broadcast first): each node is a slave server of the master's
maps and binds to itself, so neither its boot nor its return to service waits on the master (a
VM the pair may carry). The maps are copied once by the deploy and then hourly by a timer; the
local server answers only the node itself.
"""

from __future__ import annotations

import re
from collections.abc import Generator
from ipaddress import IPv4Network
from pathlib import Path
from typing import Any

from pyinfra import host
from pyinfra.api import QuoteString, StringCommand, deploy, operation
from pyinfra.api.operation import OperationMeta
from pyinfra.operations import files, systemd
from pyinfra.operations.util import any_changed

from facts.nis import Nis
from operations.report import changes
from operations.util import operation_script, unit_state
from twinstore.config import AutomountEntry, NisServerConfig, SiteConfig
from twinstore.fact_cache import FactReads
from twinstore.templating import jinja_env_kwargs

TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "nis"
MAKEFILE = "/var/yp/Makefile"
# Debian's Makefile lists the automount maps commented out; twinstore's line replaces it.
ALL_LINE = r"^(#ALL \+= amd\.home auto\.master auto\.home auto\.local|ALL \+= .* # twinstore)$"
AUTO_MAPS_LINE = r"^AUTO_MAPS\s*=.*$"
DEFAULTDOMAIN = "/etc/defaultdomain"
SECURENETS = "/etc/ypserv.securenets"
YP_CONF = "/etc/yp.conf"
TRANSFER_SCRIPT = "/usr/local/sbin/twinstore-nis-transfer"
YP_BIN = "/usr/lib/yp"
YP_DIR = "/var/yp"
TRANSFER_SERVICE = "twinstore-nis-transfer.service"
TRANSFER_TIMER = "twinstore-nis-transfer.timer"


def map_key_line(key: str) -> str:
    """The extended regex of a key's line in an automount map file, whatever its entry."""
    return rf"^{re.escape(key)}\s.*$"


def map_line(key: str, entry: AutomountEntry) -> str:
    """The procedure's map entry, with nosuid,nodev: pub -noquota,...,nosuid,nodev fiori.pasta.net,...:/vol/pub"""
    return f"{key} {','.join(entry.map_options)} {','.join(entry.servers)}:{entry.path}"


@operation()
def domain_name(domain: str) -> Generator[StringCommand, None, None]:
    """
    Set the running NIS domain name (/etc/defaultdomain sets it at boot).

    + domain: the NIS domain
    """
    if host.get_fact(Nis, domain=domain).domainname == domain:
        host.noop(f"NIS domain is {domain}")
        return
    yield StringCommand("domainname", QuoteString(domain))


@operation()
def master_maps(domain: str, sources: list[OperationMeta]) -> Generator[StringCommand, None, None]:
    """
    Build the NIS maps: ypinit -m for a domain that does not exist yet, else make when a map changed.

    + domain: the NIS domain
    + sources: the operations that write the map files and the Makefile
    """
    if not host.get_fact(Nis, domain=domain).domain_initialised:
        # Re-checked on the host: ypinit empties /var/yp/<domain>.
        yield operation_script("nis_init_master", domain)
    elif any(changes(source) for source in sources):
        yield StringCommand("make", "-C", "/var/yp")
    else:
        host.noop(f"NIS maps of {domain} are up to date")


@operation()
def slave_maps(domain: str, maps: list[str], script: str) -> Generator[StringCommand, None, None]:
    """
    Copy the master's maps to a node that lacks one of them (later copies: the node's timer).

    + domain: the NIS domain
    + maps: the maps the node serves itself
    + script: the transfer script, which copies every map
    """
    missing = sorted(set(maps) - set(host.get_fact(Nis, domain=domain).maps))
    if not missing:
        host.noop(f"this node has a copy of every NIS map of {domain} it serves")
        return
    yield StringCommand(script, "--first")


def nis_domain(site: SiteConfig) -> OperationMeta:
    """The NIS domain, now and at boot (both the master and its clients need it); returns the file's operation."""
    defaultdomain = files.template(
        name="NIS domain at boot (/etc/defaultdomain)",
        src=str(TEMPLATES / "defaultdomain.j2"),
        dest=DEFAULTDOMAIN,
        domain=site.nis_domain,
    )
    domain_name(name=f"NIS domain {site.nis_domain}", domain=site.nis_domain)
    return defaultdomain


def nis_server_fact_reads(config: NisServerConfig, site: SiteConfig) -> FactReads:
    """Everything configure_nis_server reads on the master."""
    lines = [(MAKEFILE, AUTO_MAPS_LINE, True), (MAKEFILE, ALL_LINE, True)]
    lines += [
        (f"/etc/{name}", map_key_line(key), True) for name, entries in config.automount_maps.items() for key in entries
    ]
    return FactReads(
        files=[DEFAULTDOMAIN, SECURENETS],
        services=["ypserv.service"],
        lines=lines,
        facts=[(Nis, {"domain": site.nis_domain})],
    )


def transfer_script_values(site: SiteConfig) -> dict[str, Any]:
    """The transfer script's values: the domain and the master it copies from."""
    return {
        "domain": site.nis_domain,
        "master": str(site.nis_server),
        "maps": site.nis_maps,
        "yp_bin": YP_BIN,
        "yp_dir": YP_DIR,
    }


def nis_slave_fact_reads(site: SiteConfig) -> FactReads:
    """Everything configure_nis_slave reads on a storage node."""
    return FactReads(
        files=[
            DEFAULTDOMAIN,
            SECURENETS,
            YP_CONF,
            TRANSFER_SCRIPT,
            f"/etc/systemd/system/{TRANSFER_SERVICE}",
            f"/etc/systemd/system/{TRANSFER_TIMER}",
        ],
        services=["ypserv.service", "ypbind.service", TRANSFER_TIMER],
        facts=[(Nis, {"domain": site.nis_domain})],
    )


def nis_client_fact_reads(site: SiteConfig) -> FactReads:
    """Everything configure_nis_client reads on a client."""
    return FactReads(
        files=[DEFAULTDOMAIN, YP_CONF],
        services=["ypbind.service"],
        facts=[(Nis, {"domain": site.nis_domain})],
    )


@deploy("NIS maps")
def configure_nis_server(config: NisServerConfig, site: SiteConfig) -> None:
    defaultdomain = nis_domain(site)
    network = IPv4Network(site.client_network)
    securenets = files.template(
        name="Only the LAN may ask the NIS server (/etc/ypserv.securenets)",
        src=str(TEMPLATES / "securenets.j2"),
        dest=SECURENETS,
        netmask=str(network.netmask),
        network=str(network.network_address),
    )
    maps = sorted(config.automount_maps)
    sources = [
        files.line(
            name="Automount maps built by make (AUTO_MAPS)",
            path=MAKEFILE,
            line=AUTO_MAPS_LINE,
            replace=f"AUTO_MAPS   = {' '.join(maps)}",
            extended_regex=True,
        ),
        files.line(
            name="Automount maps built by default (ALL)",
            path=MAKEFILE,
            line=ALL_LINE,
            replace=f"ALL += {' '.join(maps)} # twinstore",
            extended_regex=True,
        ),
    ]
    for map_name, entries in config.automount_maps.items():
        for key, entry in entries.items():
            sources.append(
                files.line(
                    name=f"{map_name}: {key}",
                    path=f"/etc/{map_name}",
                    line=map_key_line(key),
                    replace=map_line(key, entry),
                    extended_regex=True,
                )
            )
    master_maps(name=f"Build the NIS maps of {site.nis_domain}", domain=site.nis_domain, sources=sources)
    systemd.service(
        name="NIS server restarted for its domain or securenets",
        service="ypserv.service",
        running=True,
        restarted=True,
        _if=any_changed(defaultdomain, securenets),
    )
    unit_state(name="NIS server running and started at boot", service="ypserv.service", running=True, enabled=True)


def bind_to(site: SiteConfig, server: str, description: str, defaultdomain: OperationMeta) -> None:
    """ypbind bound to one server by yp.conf (never by broadcast), restarted when it or the domain changed."""
    yp_conf = files.template(
        name=f"Bind to {description} (/etc/yp.conf)",
        src=str(TEMPLATES / "yp.conf.j2"),
        dest=YP_CONF,
        domain=site.nis_domain,
        server=server,
    )
    systemd.service(
        name="ypbind restarted for its server",
        service="ypbind.service",
        running=True,
        restarted=True,
        _if=any_changed(defaultdomain, yp_conf),
    )
    unit_state(name="ypbind running and started at boot", service="ypbind.service", running=True, enabled=True)


@deploy("NIS client")
def configure_nis_client(site: SiteConfig) -> None:
    bind_to(site, str(site.nis_server), f"the NIS server {site.nis_server}", nis_domain(site))


@deploy("NIS served by the node itself")
def configure_nis_slave(site: SiteConfig) -> None:
    defaultdomain = nis_domain(site)
    securenets = files.template(
        name="Only this node may ask its NIS server (/etc/ypserv.securenets)",
        src=str(TEMPLATES / "securenets.j2"),
        dest=SECURENETS,
        network=None,
    )
    files.template(
        name=f"NIS maps copier {TRANSFER_SCRIPT}",
        src=str(TEMPLATES / "twinstore-nis-transfer.sh.j2"),
        dest=TRANSFER_SCRIPT,
        mode="755",
        jinja_env_kwargs=jinja_env_kwargs(),
        **transfer_script_values(site),
    )
    service = files.template(
        name=f"NIS maps copier unit {TRANSFER_SERVICE}",
        src=str(TEMPLATES / "twinstore-nis-transfer.service.j2"),
        dest=f"/etc/systemd/system/{TRANSFER_SERVICE}",
        script=TRANSFER_SCRIPT,
        master=str(site.nis_server),
    )
    timer = files.template(
        name=f"NIS maps copied every hour ({TRANSFER_TIMER})",
        src=str(TEMPLATES / "twinstore-nis-transfer.timer.j2"),
        dest=f"/etc/systemd/system/{TRANSFER_TIMER}",
    )
    systemd.daemon_reload(name="Reload systemd units", _if=any_changed(service, timer))
    # A master that does not answer (down, or a VM this pair will carry once it serves) costs
    # this step, shown as a warning, not the run: nothing else here needs the maps, and the
    # timer copies them once the master is back.
    copied = slave_maps(
        name=f"Copy the NIS maps of {site.nis_domain} from {site.nis_server}",
        domain=site.nis_domain,
        maps=site.nis_maps,
        script=TRANSFER_SCRIPT,
        _ignore_errors=True,
    )
    systemd.service(
        name="NIS server restarted for its domain, securenets or maps",
        service="ypserv.service",
        running=True,
        restarted=True,
        _if=any_changed(defaultdomain, securenets, copied),
    )
    unit_state(name="NIS server running and started at boot", service="ypserv.service", running=True, enabled=True)
    bind_to(site, "localhost", "this node's own NIS server", defaultdomain)
    unit_state(name=f"{TRANSFER_TIMER} keeps the maps current", service=TRANSFER_TIMER, running=True, enabled=True)
