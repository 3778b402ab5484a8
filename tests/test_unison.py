"""The unison fact's parsing, the authorized_keys line, the forced command and the profile."""

from __future__ import annotations

import subprocess
from pathlib import Path

from jinja2 import Template

from facts.lvm import SECTION
from facts.unison import Unison, UnisonState
from operations.unison import SERVER_COMMAND, TEMPLATES, authorized_line
from twinstore.config import UnisonProfile

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG9 twinstore-unison@fiori"


def test_fact_reads_every_section() -> None:
    output = [
        f"{SECTION}version",
        "unison version 2.53.0 (ocaml 4.13.1)",
        f"{SECTION}key",
        KEY,
        f"{SECTION}hostkey",
        "ssh-ed25519 AAAAhost",
        f"{SECTION}known_hosts",
        "192.168.1.7 ssh-ed25519 AAAApeer",
        f"{SECTION}authorized",
        f"{SECTION}archives",
        "ar0123abcd",
        "fp0123abcd",
    ]
    state = Unison().process(output)
    assert state == UnisonState(
        version="unison version 2.53.0 (ocaml 4.13.1)",
        public_key=KEY,
        host_key="ssh-ed25519 AAAAhost",
        known_hosts=("192.168.1.7 ssh-ed25519 AAAApeer",),
        authorized=(),
        archives=("ar0123abcd", "fp0123abcd"),
    )


def test_fact_on_a_node_without_unison() -> None:
    output = [f"{SECTION}{name}" for name in ("version", "key", "hostkey", "known_hosts", "authorized", "archives")]
    assert Unison().process(output) == UnisonState()


def test_the_key_is_let_in_only_from_the_client_and_only_for_the_server() -> None:
    line = authorized_line(KEY, "192.168.1.6")
    assert line == f'from="192.168.1.6",command="{SERVER_COMMAND}",restrict {KEY}'


def run_forced_command(original: str | None) -> subprocess.CompletedProcess[str]:
    script = (TEMPLATES / "unison-server.sh.j2").read_text()
    environment = (
        {"PATH": "/nonexistent"} if original is None else {"PATH": "/nonexistent", "SSH_ORIGINAL_COMMAND": original}
    )
    return subprocess.run(["/bin/sh", "-c", script], env=environment, capture_output=True, text=True)


def test_the_forced_command_refuses_anything_but_the_unison_server() -> None:
    for original in (None, "", "sh", "unison -server; sh", "bash -i", "unison -server && id"):
        result = run_forced_command(original)
        assert result.returncode == 1, original
        assert "only runs the unison server" in result.stderr
    # The server itself is exec'd (here it is not installed, so the shell says so).
    result = run_forced_command("unison -server")
    assert result.returncode == 127 and "unison" in result.stderr


def test_the_profile_has_the_procedures_settings(tmp_path: Path) -> None:
    profile = UnisonProfile(volume="rep-unison", client="fiori")
    text = Template((TEMPLATES / "profile.prf.j2").read_text()).render(
        profile=profile,
        mount_point="/vol/rep-unison",
        peer="torchio",
        peer_address="192.168.1.7",
        key="/root/.ssh/id_ed25519_unison",
        known_hosts="/root/.ssh/known_hosts_unison",
    )
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert lines == [
        "root = /vol/rep-unison",
        "root = ssh://192.168.1.7//vol/rep-unison",
        "sshargs = -i /root/.ssh/id_ed25519_unison -o UserKnownHostsFile=/root/.ssh/known_hosts_unison"
        " -o StrictHostKeyChecking=yes -o BatchMode=yes",
        "mountpoint = lost+found",
        "owner = true",
        "group = true",
        "perms = -1",
        "times = true",
        "auto = true",
        "batch = true",
        "terse = true",
        "confirmbigdel = true",
        "fastcheck = true",
        "prefer = newer",
        "logfile = /var/log/unison.log",
    ]
