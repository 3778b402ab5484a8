"""NFS: the exports file from the configuration, and when the kernel's table is re-exported."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import cast

import pytest
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from pydantic import ValidationError
from pyinfra.api.operation import OperationMeta
from pyinfra.context import ctx_host, ctx_state

from facts.nfs import NfsExports, NfsExportsState
from operations.nfs import REEXPORT, exported
from tests.helpers import FakeHost, FakeOperationMeta
from twinstore.config import NfsExport

TEMPLATES = Path(__file__).parent.parent / "templates" / "nfs"
PATHS = ["/vol/pub", "/vol/home"]


@pytest.fixture(autouse=True)
def planning() -> Iterator[None]:
    with ctx_state.use(SimpleNamespace(is_executing=False)):
        yield


def render_exports(exports: list[NfsExport]) -> list[str]:
    environment = Environment(loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined, keep_trailing_newline=True)
    text = environment.get_template("twinstore.exports.j2").render(
        exports=[{"path": export.path, "entries": export.entries(["192.168.1.0/24"])} for export in exports]
    )
    return [line for line in text.splitlines() if line and not line.startswith("#")]


def test_root_is_squashed_for_the_client_network_and_trusted_only_on_named_hosts() -> None:
    lines = render_exports(
        [
            NfsExport(path="/vol/pub"),
            NfsExport(path="/vol/home", no_root_squash_hosts=["192.168.1.10", "admin"]),
            NfsExport(path="/vol/svn", clients=["10.0.0.0/8", "host1"], options=["ro"]),
        ]
    )
    assert lines == [
        "/vol/pub 192.168.1.0/24(rw,root_squash,sync,subtree_check)",
        "/vol/home 192.168.1.10(rw,sync,subtree_check,no_root_squash) admin(rw,sync,subtree_check,no_root_squash)"
        " 192.168.1.0/24(rw,root_squash,sync,subtree_check)",
        "/vol/svn 10.0.0.0/8(ro) host1(ro)",
    ]


def test_no_root_squash_for_a_whole_export_or_a_network_is_refused() -> None:
    with pytest.raises(ValidationError, match="name the hosts whose root is trusted in no_root_squash_hosts"):
        NfsExport(path="/vol/pub", options=["rw", "no_root_squash"])
    with pytest.raises(ValidationError, match="is not a host name or an IPv4 address"):
        NfsExport(path="/vol/pub", no_root_squash_hosts=["192.168.1.0/24"])
    with pytest.raises(ValidationError, match="is not a host name or an IPv4 address"):
        NfsExport(path="/vol/pub", no_root_squash_hosts=["*"])


def test_fact_reads_the_table_and_where_paths_lead() -> None:
    # exportfs -s prints one line per path and client.
    output = [
        "#twinstore-section exported",
        "EXPORTED=/vol/rep-unison/pub 192.168.1.10",
        "EXPORTED=/vol/rep-unison/pub 192.168.1.0/24",
        "#twinstore-section path /vol/pub",
        "RESOLVED=/vol/rep-unison/pub",
        "#twinstore-section path /vol/home",
    ]
    assert NfsExports().process(output) == NfsExportsState(
        frozenset({"/vol/rep-unison/pub"}),
        {"/vol/pub": "/vol/rep-unison/pub"},
        {"/vol/rep-unison/pub": frozenset({"192.168.1.10", "192.168.1.0/24"})},
    )


def test_with_io_frozen_no_path_is_resolved_and_the_state_says_so() -> None:
    # A path on a frozen volume would hang the fact (facts.drbd.FROZEN_SCRIPT).
    output = ["#twinstore-section exported", "EXPORTED=/vol/rep-unison/pub 192.168.1.10", "#twinstore-section frozen"]
    state = NfsExports().process(output)
    assert state.frozen and state.resolved == {}
    assert state.exported == frozenset({"/vol/rep-unison/pub"})
    assert not NfsExports().process(output[:2]).frozen


def commands(table: NfsExportsState, file_changed: bool = False) -> list[str]:
    with ctx_host.use(FakeHost({NfsExports: table})):
        meta = cast(OperationMeta, FakeOperationMeta(file_changed))
        return [c.get_raw_value() for c in exported._inner(paths=PATHS, exports_file=meta)]


RESOLVED = {"/vol/pub": "/vol/rep-unison/pub", "/vol/home": "/vol/ocfs2-small/home"}


def test_nothing_to_do_when_every_path_is_exported() -> None:
    assert commands(NfsExportsState(frozenset(RESOLVED.values()), RESOLVED)) == []


def test_reexport_when_the_file_changed() -> None:
    assert commands(NfsExportsState(frozenset(RESOLVED.values()), RESOLVED), file_changed=True) != []


def test_reexport_when_a_volume_was_mounted_since() -> None:
    found = commands(NfsExportsState(frozenset({"/vol/rep-unison/pub"}), RESOLVED))
    assert len(found) == 1 and "exportfs -ra" in found[0]


def test_a_path_whose_volume_is_not_mounted_does_not_trigger_a_reexport() -> None:
    assert commands(NfsExportsState(frozenset({"/vol/rep-unison/pub"}), {"/vol/pub": "/vol/rep-unison/pub"})) == []


def test_reexport_tolerates_only_missing_paths() -> None:
    def run(stub: str) -> int:
        script = f"exportfs() {{ {stub}; }}; " + REEXPORT
        return subprocess.run(["sh", "-c", script], capture_output=True).returncode

    assert run("return 0") == 0
    assert run("echo 'exportfs: Failed to stat /vol/home: No such file or directory' >&2; return 1") == 0
    assert run("echo 'exportfs: /etc/exports.d/x:1: unknown keyword' >&2; return 1") != 0


def test_the_fact_command_reads_each_path_and_client_from_exportfs(tmp_path: Path) -> None:
    # A stand-in exportfs printing what nfs-utils 2.6's exportfs -s prints on the lab.
    fake = tmp_path / "exportfs"
    fake.write_text(
        "#!/bin/sh\n"
        "echo '/vol/rep-unison/pub  192.168.1.10(sync,wdelay,hide,no_subtree_check,sec=sys,rw,no_root_squash)'\n"
        "echo '/vol/rep-unison/pub  192.168.1.0/24(sync,wdelay,hide,no_subtree_check,sec=sys,rw,root_squash)'\n"
    )
    fake.chmod(0o755)
    (tmp_path / "pub").mkdir()
    command = NfsExports().command(paths=[str(tmp_path / "pub")])
    result = subprocess.run(
        ["/bin/sh", "-c", command.get_raw_value()],
        env={"PATH": f"{tmp_path}:/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    state = NfsExports().process(result.stdout.splitlines())
    assert state.clients == {"/vol/rep-unison/pub": frozenset({"192.168.1.10", "192.168.1.0/24"})}
    assert state.resolved == {str(tmp_path / "pub"): str((tmp_path / "pub").resolve())}
