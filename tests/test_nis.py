"""NIS: the map lines, the Makefile edits, the client files, and when the maps are built."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
from pydantic import ValidationError
from pyinfra.context import ctx_host

from facts.nis import Nis, NisState
from operations.nis import ALL_LINE, TEMPLATES, map_line, master_maps, slave_maps, transfer_script_values
from tests.helpers import FakeHost, FakeOperationMeta, real_site_config, render_template
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


def test_nis_fact_reads_the_domain_whether_it_was_set_up_and_its_maps() -> None:
    assert Nis().process(["DOMAINNAME=pasta.net", "DOMAIN_DIR=1", "MAPS="]) == NisState("pasta.net", True)
    assert Nis().process(["DOMAINNAME=(none)"]) == NisState("(none)", False)
    state = Nis().process(["DOMAINNAME=pasta.net", "DOMAIN_DIR=1", "MAPS=passwd.byuid auto.home "])
    assert state.maps == ("auto.home", "passwd.byuid")


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


def test_clients_bind_to_the_configured_server() -> None:
    assert render("yp.conf.j2", domain="pasta.net", server="192.168.1.10") == ["domain pasta.net server 192.168.1.10"]


def test_only_loopback_and_the_lan_may_ask_the_server() -> None:
    lines = render("securenets.j2", netmask="255.255.255.0", network="192.168.1.0")
    assert lines == ["255.0.0.0\t127.0.0.0", "255.255.255.0\t192.168.1.0"]


def slave_plan(state: NisState, maps: list[str]) -> list[str]:
    with ctx_host.use(FakeHost({Nis: state})):
        return [c.get_raw_value() for c in slave_maps._inner(domain="pasta.net", maps=maps, script="/s")]


def test_a_storage_node_copies_the_maps_once_then_leaves_it_to_its_timer() -> None:
    maps = ["auto.home", "passwd.byname"]
    assert slave_plan(NisState("(none)", False), maps) == ["/s --first"]
    # A map added to nis_maps is copied by the next run.
    assert slave_plan(NisState("pasta.net", True, ("auto.home",)), maps) == ["/s --first"]
    assert slave_plan(NisState("pasta.net", True, ("auto.home", "passwd.byname", "ypservers")), maps) == []


def test_a_storage_node_answers_only_itself_and_binds_to_itself() -> None:
    assert render("securenets.j2", network=None) == ["255.0.0.0\t127.0.0.0"]
    assert render("yp.conf.j2", domain="pasta.net", server="localhost") == ["domain pasta.net server localhost"]


MASTER_ORDER = "1796250323"


def transfer(tmp_path: Path, master_up: bool, copy_order: str, *args: str) -> subprocess.CompletedProcess[str]:
    """The transfer script with stand-ins for ypxfr, makedbm and yppoll: the master's maps have
    MASTER_ORDER; ypxfr leaves each copy at copy_order, as a real ypxfr that failed or succeeded."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (tmp_path / "calls").write_text("")
    stubs = {
        "ypxfr": f'echo "ypxfr $*" >> {tmp_path}/calls; exit 0',
        "makedbm": f'[ -e "$2" ] && printf "YP_LAST_MODIFIED\\t%s\\n" {copy_order}',
        "yppoll": (
            f'echo "Map $5 has order number {MASTER_ORDER}. [Wed Dec  2 22:25:23 2026]"'
            if master_up
            else 'echo "yppoll: RPC: Unable to receive" >&2; exit 1'
        ),
    }
    for name, body in stubs.items():
        (bin_dir / name).write_text(f"#!/bin/sh\n{body}\n")
        (bin_dir / name).chmod(0o755)
    site = real_site_config().model_copy(update={"nis_maps": ["auto.home", "passwd.byname"]})
    values = {**transfer_script_values(site), "yp_bin": str(bin_dir), "yp_dir": str(tmp_path / "yp")}
    script = render_template(TEMPLATES / "twinstore-nis-transfer.sh.j2", **values)
    (tmp_path / "yp" / "pasta.net").mkdir(parents=True)
    for name in ("auto.home", "passwd.byname"):
        (tmp_path / "yp" / "pasta.net" / name).write_text("")
    environment = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    return subprocess.run(
        ["sh", "-s", "--", *args], input=script, text=True, env=environment, capture_output=True, check=False
    )


def test_the_transfer_succeeds_only_when_every_copy_has_the_masters_order_number(tmp_path: Path) -> None:
    done = transfer(tmp_path, True, MASTER_ORDER, "--first")
    assert done.returncode == 0, done.stderr
    calls = (tmp_path / "calls").read_text().splitlines()
    assert calls == [
        "ypxfr -c -h 192.168.1.10 -d pasta.net auto.home",
        "ypxfr -c -h 192.168.1.10 -d pasta.net passwd.byname",
    ]


def test_the_timers_transfer_tells_the_local_server_to_reopen_new_maps(tmp_path: Path) -> None:
    done = transfer(tmp_path, True, MASTER_ORDER)
    assert done.returncode == 0, done.stderr
    assert "ypxfr -h 192.168.1.10 -d pasta.net auto.home" in (tmp_path / "calls").read_text()


@pytest.mark.parametrize(("master_up", "copy_order"), [(False, MASTER_ORDER), (True, "1796240000")])
def test_a_copy_that_did_not_happen_fails_and_names_the_maps(tmp_path: Path, master_up: bool, copy_order: str) -> None:
    failed = transfer(tmp_path, master_up, copy_order)
    assert failed.returncode == 1
    assert failed.stderr.strip() == (
        "twinstore-nis-transfer: not copied from the NIS master 192.168.1.10 (see journalctl -t ypxfr): "
        "auto.home passwd.byname"
    )


@pytest.mark.parametrize("maps", [[], ["auto.home; reboot"], ["-f"], ["../passwd"]])
def test_a_map_name_that_could_change_the_transfer_is_refused(maps: list[str]) -> None:
    with pytest.raises(ValidationError) as refused:
        real_site_config().model_validate({**real_site_config().model_dump(mode="json"), "nis_maps": maps})
    assert "nis_maps" in str(refused.value)
