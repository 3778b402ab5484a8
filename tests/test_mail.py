"""Postfix relay: reading postconf, and what changes when a setting differs."""

from __future__ import annotations

from pyinfra.context import ctx_host

from facts.mail import PostfixSettings
from operations.mail import postfix_settings, relay_settings
from tests.helpers import FakeHost, real_storage_config


def test_postconf_output_is_read_with_empty_values() -> None:
    output = ["relayhost = [192.168.1.25]", "inet_interfaces = all", "mydestination ="]
    assert PostfixSettings().process(output) == {
        "relayhost": "[192.168.1.25]",
        "inet_interfaces": "all",
        "mydestination": "",
    }


def wanted() -> dict[str, str]:
    return postfix_settings(real_storage_config(mail_relay="192.168.1.25"))


def plan(current: dict[str, str]) -> tuple[list[str], list[str]]:
    fake = FakeHost({PostfixSettings: current})
    with ctx_host.use(fake):
        commands = [command.get_raw_value() for command in relay_settings._inner(settings=wanted())]
    return commands, fake.noops


def test_the_relay_is_named_by_address_in_brackets() -> None:
    assert wanted() == {"relayhost": "[192.168.1.25]", "inet_interfaces": "loopback-only", "mydestination": ""}


def test_debians_defaults_are_changed_then_postfix_restarts_and_flushes() -> None:
    commands, _ = plan({"relayhost": "", "inet_interfaces": "all", "mydestination": "fiori, localhost"})
    assert commands == [
        "postconf -e 'relayhost=[192.168.1.25]' inet_interfaces=loopback-only mydestination=",
        "systemctl restart postfix.service",
        "postqueue -f",
    ]


def test_only_the_differing_setting_is_written() -> None:
    commands, _ = plan({"relayhost": "[192.168.1.99]", "inet_interfaces": "loopback-only", "mydestination": ""})
    assert commands[0] == "postconf -e 'relayhost=[192.168.1.25]'"


def test_nothing_to_do_when_postfix_already_relays() -> None:
    commands, noops = plan(wanted())
    assert commands == [] and noops == ["postfix relays to [192.168.1.25]"]
