"""apt sources by IP address: validation of apt_sources and the sources.list twinstore writes."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from pyinfra.operations.util.files import sed_replace

from facts.sources import SOURCES_DIR, AptSourceUris, deb822_uris, one_line_uris
from operations.sources import TEMPLATES, fact_reads, host_pattern, renames, source_lines, uri_host
from tests.helpers import real_storage_config, render_template, with_storage

MIRROR = {"uri": "http://192.168.1.2/debian", "suites": ["bookworm", "bookworm-updates"]}
SECURITY = {"uri": "http://192.168.1.2/debian-security", "suites": ["bookworm-security"], "components": ["main"]}


def test_one_deb_line_per_suite_of_each_source() -> None:
    config = real_storage_config(apt_sources=[MIRROR, SECURITY])
    text = render_template(TEMPLATES / "sources.list.j2", lines=source_lines(config.apt_sources, "trixie"))
    assert [line for line in text.splitlines() if not line.startswith("#")] == [
        "deb http://192.168.1.2/debian bookworm main non-free-firmware",
        "deb http://192.168.1.2/debian bookworm-updates main non-free-firmware",
        "deb http://192.168.1.2/debian-security bookworm-security main",
    ]


@pytest.mark.parametrize("codename", ["bookworm", "trixie"])
def test_a_source_without_suites_follows_the_hosts_release(codename: str) -> None:
    config = real_storage_config(apt_sources=[{"uri": "http://192.168.1.2/debian"}])
    assert source_lines(config.apt_sources, codename) == [
        f"deb http://192.168.1.2/debian {codename} main non-free-firmware",
        f"deb http://192.168.1.2/debian {codename}-updates main non-free-firmware",
    ]


def test_sources_by_ip_address_are_accepted() -> None:
    assert with_storage("apt_sources", [MIRROR, {"uri": "https://[2001:db8::2]/debian"}]) == []


def test_a_source_by_name_is_refused_with_its_field() -> None:
    problems = with_storage("apt_sources", [MIRROR, {"uri": "http://deb.debian.org/debian"}])
    assert [p.field for p in problems] == ["apt_sources.1.uri"]
    assert "deb.debian.org" in problems[0].value and "IP address" in problems[0].rule


def test_a_source_that_is_not_http_is_refused() -> None:
    problems = with_storage("apt_sources", [{"uri": "ftp://192.168.1.2/debian"}])
    assert [p.field for p in problems] == ["apt_sources.0.uri"]


def test_a_source_without_suites_is_refused() -> None:
    problems = with_storage("apt_sources", [{"uri": "http://192.168.1.2/debian", "suites": []}])
    assert "apt_sources.0.suites" in [p.field for p in problems]


def test_nothing_is_read_or_written_when_no_sources_are_set() -> None:
    assert fact_reads(real_storage_config()) == fact_reads(real_storage_config(apt_sources=[]))
    assert fact_reads(real_storage_config()).files == [] and fact_reads(real_storage_config()).facts == []
    owned = fact_reads(real_storage_config(apt_sources=[MIRROR]))
    assert owned.files == ["/etc/apt/sources.list"]
    # sources.list is twinstore's own then: only the other files are searched for names.
    assert owned.facts == [(AptSourceUris, {"files": []})]
    renamed = fact_reads(real_storage_config(apt_addresses={"deb.example.net": "192.168.1.2"}))
    assert renamed.files == [] and renamed.facts == [(AptSourceUris, {"files": ["/etc/apt/sources.list"]})]


LIST_FILE = """\
# deb http://commented.example.net/debian bookworm main
deb [arch=amd64 signed-by=/usr/share/keyrings/vendor.gpg] http://deb.example.net:8080/vendor bookworm main
deb-src http://deb.example.net/vendor bookworm main
deb file:/srv/local-repo ./
deb http://192.168.1.2/debian bookworm main
"""

SOURCES_FILE = """\
# The vendor's deb822 file.
Types: deb
URIs: http://deb.example.net/debian
 https://mirror.example.org/debian
Suites: bookworm
Components: main

Types: deb
URIs: http://disabled.example.com/debian
Suites: bookworm
Components: main
Enabled: no
"""


def test_the_uris_of_one_line_and_deb822_files() -> None:
    assert one_line_uris(LIST_FILE.splitlines()) == [
        "http://deb.example.net:8080/vendor",
        "http://deb.example.net/vendor",
        "file:/srv/local-repo",
        "http://192.168.1.2/debian",
    ]
    assert deb822_uris(SOURCES_FILE.splitlines()) == [
        "http://deb.example.net/debian",
        "https://mirror.example.org/debian",
    ]
    assert [uri_host(uri) for uri in ("file:/srv/x", "http://[2001:db8::2]/d", "http://u@Deb.Example.net:80/")] == [
        None,
        "[2001:db8::2]",
        "Deb.Example.net",
    ]


def test_the_fact_reads_every_source_file_with_its_empty_lines(tmp_path: Path) -> None:
    (tmp_path / "vendor.list").write_text(LIST_FILE)
    (tmp_path / "vendor.sources").write_text(SOURCES_FILE)
    (tmp_path / "vendor.list.disabled").write_text("deb http://ignored.example.net/ x main\n")
    (tmp_path / "etc").mkdir()
    main = tmp_path / "etc" / "sources.list"
    main.write_text("deb http://deb.debian.org/debian bookworm main")  # no final newline
    command = AptSourceUris().command(files=[str(main), str(tmp_path / "absent.list")]).get_raw_value()
    output = subprocess.run(
        ["sh", "-c", command.replace(SOURCES_DIR, str(tmp_path))], capture_output=True, text=True, check=True
    ).stdout
    found = AptSourceUris().process(output.splitlines())
    assert found == {
        str(main): ["http://deb.debian.org/debian"],
        str(tmp_path / "vendor.list"): one_line_uris(LIST_FILE.splitlines()),
        str(tmp_path / "vendor.sources"): ["http://deb.example.net/debian", "https://mirror.example.org/debian"],
    }


def test_a_named_server_is_renamed_by_its_address_and_an_unknown_one_refused() -> None:
    config = real_storage_config(apt_addresses={"deb.example.net": "192.168.1.2"})
    uris = {
        "/etc/apt/sources.list.d/vendor.list": one_line_uris(LIST_FILE.splitlines()),
        "/etc/apt/sources.list.d/vendor.sources": deb822_uris(SOURCES_FILE.splitlines()),
        "/etc/apt/sources.list.d/local.list": ["http://192.168.1.3/local", "file:/srv/x"],
    }
    wanted, problems = renames(config, uris, "group_data/storage.py")
    assert wanted == {
        "/etc/apt/sources.list.d/vendor.list": ["deb.example.net"],
        "/etc/apt/sources.list.d/vendor.sources": ["deb.example.net"],
    }
    assert [(p.field, p.value) for p in problems] == [
        (
            "apt_addresses.mirror.example.org",
            "/etc/apt/sources.list.d/vendor.sources: https://mirror.example.org/debian",
        )
    ]
    assert "apt would need DNS" in problems[0].rule


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("deb http://deb.example.net/debian bookworm main", "deb http://192.168.1.2/debian bookworm main"),
        ("deb [arch=amd64] http://deb.example.net:8080/v x main", "deb [arch=amd64] http://192.168.1.2:8080/v x main"),
        ("URIs: http://deb.example.net", "URIs: http://192.168.1.2"),
        ("URIs: http://deb.example.net/a http://deb.example.net/b", "URIs: http://192.168.1.2/a http://192.168.1.2/b"),
        ("deb http://deb.example.network/debian x main", "deb http://deb.example.network/debian x main"),
        ("deb http://debXexample.net/debian x main", "deb http://debXexample.net/debian x main"),
    ],
)
def test_files_replace_rewrites_only_the_named_server(tmp_path: Path, line: str, expected: str) -> None:
    path = tmp_path / "vendor.list"
    path.write_text(line + "\n")
    # The command pyinfra's files.replace runs with these arguments.
    pattern = host_pattern("deb.example.net")
    command = sed_replace(str(path), pattern, "://192.168.1.2\\1", flags=["g"], extended_regex=True)
    subprocess.run(["sh", "-c", command.get_raw_value()], check=True)
    assert path.read_text() == expected + "\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["vendor.list"]


def test_apt_addresses_are_validated_by_name_and_address() -> None:
    problems = with_storage("apt_addresses", {"Deb.Example.net": "192.168.1.2", "ok.example.net": "not-an-ip"})
    fields = sorted(p.field for p in problems if p.field.startswith("apt_addresses"))
    assert fields == ["apt_addresses.Deb.Example.net.[key]", "apt_addresses.ok.example.net"]
