"""NIS: the map lines, the Makefile edits, the client files, and when the maps are built."""

from __future__ import annotations

import re

import pytest
from pyinfra.context import ctx_host

from facts.nis import Nis, NisState
from operations.nis import ALL_LINE, TEMPLATES, map_line, master_maps
from tests.helpers import FakeHost, FakeOperationMeta, render_template
from twinstore.config import AutomountEntry

DEBIAN_MAKEFILE_LINES = [
    "AUTO_MAPS   = auto.master auto.home auto.local",
    "#ALL += publickey mail ethers bootparams printcap",
    "#ALL += amd.home auto.master auto.home auto.local",
    "#ALL += timezone locale networks netmasks",
]


def test_the_procedures_map_entry() -> None:
    entry = AutomountEntry(servers=["fiori.pasta.net", "torchio.pasta.net"], path="/vol/pub")
    assert (
        map_line("pub", entry)
        == "pub -noquota,noatime,nodiratime,nfsvers=3,nosuid,nodev fiori.pasta.net,torchio.pasta.net:/vol/pub"
    )


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (["-noquota", "suid"], "-noquota,suid,nodev"),
        (["-dev"], "-dev,nosuid"),
        (["-nosuid", "nodev"], "-nosuid,nodev"),
    ],
)
def test_an_entry_that_names_suid_or_dev_keeps_its_choice(options: list[str], expected: str) -> None:
    entry = AutomountEntry(options=options, servers=["fiori"], path="/vol/pub")
    assert map_line("pub", entry) == f"pub {expected} fiori:/vol/pub"


def test_the_all_line_matches_debians_commented_line_and_its_own_replacement_only() -> None:
    matching = [line for line in DEBIAN_MAKEFILE_LINES if re.search(ALL_LINE, line)]
    assert matching == ["#ALL += amd.home auto.master auto.home auto.local"]
    assert re.search(ALL_LINE, "ALL += auto.home auto.staging # twinstore")


def test_nis_fact_reads_the_domain_and_whether_it_was_set_up() -> None:
    assert Nis().process(["DOMAINNAME=pasta.net", "DOMAIN_DIR=1"]) == NisState("pasta.net", True)
    assert Nis().process(["DOMAINNAME=(none)"]) == NisState("(none)", False)


def plan(state: NisState, *changed: bool) -> list[str]:
    with ctx_host.use(FakeHost({Nis: state})):
        sources = [FakeOperationMeta(flag) for flag in changed]
        return [c.get_raw_value() for c in master_maps._inner(domain="pasta.net", sources=sources)]  # type: ignore[arg-type]


def test_a_new_domain_is_set_up_with_ypinit_rechecked_on_the_host() -> None:
    (command,) = plan(NisState("pasta.net", False), False)
    assert "ypinit -m < /dev/null" in command and '[ ! -e "/var/yp/$1" ]' in command


def test_an_existing_domain_is_rebuilt_only_when_a_map_changed() -> None:
    assert plan(NisState("pasta.net", True), False, False) == []
    assert plan(NisState("pasta.net", True), False, True) == ["make -C /var/yp"]


def render(name: str, **values: object) -> list[str]:
    text = render_template(TEMPLATES / name, **values)
    return [line for line in text.splitlines() if line and not line.startswith("#")]


def test_clients_bind_to_the_configured_server_and_mount_from_nis_maps() -> None:
    assert render("yp.conf.j2", domain="pasta.net", server="192.168.1.10") == ["domain pasta.net server 192.168.1.10"]
    points = {"/staging": "auto.staging", "/home": "auto.home"}
    assert render("twinstore.autofs.j2", points=points) == ["/staging\typ:auto.staging", "/home\typ:auto.home"]


def test_only_loopback_and_the_lan_may_ask_the_server() -> None:
    lines = render("securenets.j2", netmask="255.255.255.0", network="192.168.1.0")
    assert lines == ["255.0.0.0\t127.0.0.0", "255.255.255.0\t192.168.1.0"]
