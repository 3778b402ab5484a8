"""Mail from the storage nodes: postfix relays everything to the configured relay, by IP address.

The procedure points postfix at the site's relay by IP address, so mail (DRBD's split-brain
notice to root among it) leaves the node without DNS. Postfix is installed only when
``mail_relay`` is set (non-interactively: pyinfra's apt runs debconf noninteractive, and
the settings below replace whatever its defaults chose); nothing is done otherwise.
"""

from __future__ import annotations

from collections.abc import Generator

from pyinfra import host
from pyinfra.api import QuoteString, StringCommand, deploy, operation

from facts.mail import PostfixSettings
from operations.util import unit_state
from twinstore.config import StorageConfig
from twinstore.fact_cache import FactReads, prefetch_reads


def postfix_settings(config: StorageConfig) -> dict[str, str]:
    """main.cf values: a satellite that relays all its mail and listens to no one else."""
    return {
        # Brackets: the relay's address as given, no MX lookup, so no DNS.
        "relayhost": f"[{config.mail_relay}]",
        "inet_interfaces": "loopback-only",
        # Nothing is delivered on the node itself: root's mail goes to the relay too.
        "mydestination": "",
    }


@operation()
def relay_settings(settings: dict[str, str]) -> Generator[StringCommand, None, None]:
    """
    Set the postfix parameters that differ, then reload postfix and flush its queue.

    + settings: main.cf parameter -> value
    """
    current = host.get_fact(PostfixSettings, names=sorted(settings))
    different = {name: value for name, value in settings.items() if current.get(name) != value}
    if not different:
        host.noop(f"postfix relays to {settings.get('relayhost')}")
        return
    yield StringCommand("postconf", "-e", *[QuoteString(f"{name}={value}") for name, value in different.items()])
    # inet_interfaces takes effect only on a restart; the procedure's reload and queue flush follow.
    yield StringCommand("systemctl", "restart", "postfix.service")
    yield StringCommand("postqueue", "-f")


def fact_reads(config: StorageConfig) -> FactReads:
    if config.mail_relay is None:
        return FactReads()
    return FactReads(
        services=["postfix.service"],
        facts=[(PostfixSettings, {"names": sorted(postfix_settings(config))})],
    )


@deploy("Mail relay")
def configure_mail(config: StorageConfig) -> None:
    if config.mail_relay is None:
        return
    prefetch_reads(host, fact_reads(config))
    relay_settings(name=f"Relay all mail to {config.mail_relay}", settings=postfix_settings(config))
    unit_state(name="postfix running and started at boot", service="postfix.service", running=True, enabled=True)
