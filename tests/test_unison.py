"""The unison fact's parsing, the authorized_keys line, the forced command and the profile."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from jinja2 import Environment, StrictUndefined, Template

from facts.unison import Unison, UnisonState
from facts.util import SECTION
from operations.unison import ARCHIVE_DIR, SERVER_COMMAND, TEMPLATES, authorized_line, ssh_options, sync_command_values
from tests.helpers import render_template
from twinstore.config import UnisonProfile
from twinstore.templating import jinja_env_kwargs

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
        f"{SECTION}mounted",
        "yes",
    ]
    state = Unison().process(output)
    assert state == UnisonState(
        version="unison version 2.53.0 (ocaml 4.13.1)",
        public_key=KEY,
        host_key="ssh-ed25519 AAAAhost",
        known_hosts=("192.168.1.7 ssh-ed25519 AAAApeer",),
        authorized=(),
        archives=("ar0123abcd", "fp0123abcd"),
        mounted=True,
    )


def test_fact_on_a_node_without_unison() -> None:
    output = [
        f"{SECTION}{name}" for name in ("version", "key", "hostkey", "known_hosts", "authorized", "archives", "mounted")
    ]
    assert Unison().process(output) == UnisonState()


def test_the_key_is_let_in_only_from_the_client_and_only_for_the_server() -> None:
    line = authorized_line(KEY, "192.168.1.6")
    assert line == f'from="192.168.1.6",command="{SERVER_COMMAND}",restrict {KEY}'


def run_forced_command(original: str | None, path: str = "/nonexistent") -> subprocess.CompletedProcess[str]:
    script = render_template(TEMPLATES / "unison-server.sh.j2", root="/vol/rep-unison", archive_dir=ARCHIVE_DIR)
    environment = {"PATH": path} if original is None else {"PATH": path, "SSH_ORIGINAL_COMMAND": original}
    return subprocess.run(["/bin/sh", "-c", script], env=environment, capture_output=True, text=True)


def test_the_forced_command_refuses_anything_but_the_unison_server() -> None:
    for original in (None, "", "sh", "unison -server; sh", "bash -i", "unison -server && id"):
        result = run_forced_command(original)
        assert result.returncode == 1, original
        assert "only runs the unison server" in result.stderr
    # The server itself is exec'd through systemd-run (here it is not installed, so the shell says so).
    result = run_forced_command("unison -server")
    assert result.returncode == 127 and "systemd-run" in result.stderr


@pytest.mark.parametrize("original", ["unison -server", "unison -server __new-rpc-mode"])
def test_the_unison_server_runs_confined_to_its_volume(original: str, tmp_path: Path) -> None:
    # A stand-in systemd-run that prints the arguments it was given, one per line.
    fake = tmp_path / "systemd-run"
    fake.write_text('#!/bin/sh\nfor argument in "$@"; do echo "$argument"; done\n')
    fake.chmod(0o755)
    result = run_forced_command(original, path=f"{tmp_path}:/usr/bin:/bin")
    assert result.returncode == 0, result.stderr
    arguments = result.stdout.splitlines()
    assert arguments[-len(original.split()) :] == original.split()
    for confinement in (
        "ProtectSystem=strict",
        "ProtectHome=read-only",
        "TemporaryFileSystem=/vol:ro",
        "BindPaths=/vol/rep-unison",
        "ReadWritePaths=/vol/rep-unison /root/.unison",
    ):
        assert confinement in arguments
    assert "--pipe" in arguments and "--wait" in arguments


def test_the_profile_has_the_procedures_settings(tmp_path: Path) -> None:
    profile = UnisonProfile(volume="rep-unison", client="fiori")
    text = Template((TEMPLATES / "profile.prf.j2").read_text()).render(
        profile=profile,
        mount_point="/vol/rep-unison",
        peer="torchio",
        peer_address="192.168.1.7",
        ssh_options=ssh_options(),
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


def test_the_forced_command_counts_only_the_configured_volume_and_only_when_mounted() -> None:
    # No mountpoint binary on this PATH: the count refuses rather than counting an empty directory.
    result = run_forced_command("twinstore-unison-count")
    assert result.returncode == 1 and result.stdout == ""
    result = run_forced_command("twinstore-unison-count /etc")
    assert result.returncode == 1 and "only runs the unison server" in result.stderr


FAKE_TOOLS = {
    # The volume counts as mounted; the peer's count comes from the test; unison records its run.
    "mountpoint": "#!/bin/sh\nexit 0\n",
    "ssh": '#!/bin/sh\ntest "$FAKE_PEER_COUNT" = fail && exit 255\necho "$FAKE_PEER_COUNT"\n',
    "unison": '#!/bin/sh\necho "$*" >> "$UNISON_RUNS"\nexit "${FAKE_UNISON_STATUS:-0}"\n',
}


class SyncScript:
    """The sync command rendered against a temporary volume, with fake ssh, unison and mountpoint."""

    def __init__(self, tmp_path: Path) -> None:
        self.root = tmp_path / "volume"
        self.root.mkdir()
        self.log = tmp_path / "unison.log"
        self.count_file = tmp_path / "count"
        self.runs = tmp_path / "runs"
        self.last_run = tmp_path / "last-run"
        tools = tmp_path / "bin"
        tools.mkdir()
        for name, text in FAKE_TOOLS.items():
            (tools / name).write_text(text)
            (tools / name).chmod(0o755)
        self.path = f"{tools}:/usr/bin:/bin"
        self.script = tmp_path / "twinstore-unison-sync"
        # The values the deploy passes, with the paths moved under tmp_path; a value the
        # template uses and the deploy does not pass fails here (StrictUndefined).
        profile = UnisonProfile(volume="rep-unison", client="fiori", log_file=str(self.log))
        values = sync_command_values(profile, str(self.root), "fiori", "torchio", "192.168.1.7")
        assert values["count_file"] == "/root/.unison/twinstore-vol-rep-unison.count"
        values |= {"count_file": str(self.count_file), "lock_file": str(tmp_path / "lock")}
        values |= {"last_run_file": str(self.last_run)}
        template = Environment(undefined=StrictUndefined, **jinja_env_kwargs()).from_string(
            (TEMPLATES / "sync.sh.j2").read_text()
        )
        self.script.write_text(template.render(**values))

    def make_entries(self, count: int) -> None:
        for entry in self.root.iterdir():
            entry.unlink()
        for number in range(count):
            (self.root / f"f{number}").write_text("x")

    def run(self, peer_count: str, *args: str, unison_status: int = 0) -> subprocess.CompletedProcess[str]:
        environment = {
            "PATH": self.path,
            "FAKE_PEER_COUNT": peer_count,
            "UNISON_RUNS": str(self.runs),
            "FAKE_UNISON_STATUS": str(unison_status),
        }
        return subprocess.run(
            ["/bin/sh", str(self.script), *args], env=environment, capture_output=True, text=True, check=False
        )

    def unison_runs(self) -> list[str]:
        return self.runs.read_text().splitlines() if self.runs.exists() else []


def test_sync_runs_unison_and_records_the_count(tmp_path: Path) -> None:
    sync = SyncScript(tmp_path)
    sync.make_entries(10)
    # No count yet (the first sync): no check, unison runs, the count is recorded.
    assert sync.run("0").returncode == 0
    assert sync.unison_runs() == ["vol-rep-unison"]
    assert sync.count_file.read_text().strip() == "10"
    # Half of the entries gone on one side is still allowed (more than half is not).
    assert sync.run("5").returncode == 0
    assert len(sync.unison_runs()) == 2


def test_sync_stops_when_most_of_the_peer_is_gone_and_says_how_to_let_it_through(tmp_path: Path) -> None:
    sync = SyncScript(tmp_path)
    sync.make_entries(10)
    sync.count_file.write_text("10\n")
    result = sync.run("4")
    assert result.returncode == 1 and sync.unison_runs() == []
    log = sync.log.read_text()
    assert "not synced" in log and "on torchio has 4 entries, 10 after the last sync" in log
    assert "more than 50% deleted (confirmbigdel)" in log
    assert "twinstore-unison-sync --accept-deletions" in log and "--accept-deletions" in result.stderr
    # The administrator says the deletion is wanted: one sync without the check.
    assert sync.run("4", "--accept-deletions").returncode == 0
    assert sync.unison_runs() == ["vol-rep-unison"]


def test_sync_stops_when_most_of_this_side_is_gone(tmp_path: Path) -> None:
    sync = SyncScript(tmp_path)
    sync.make_entries(2)
    sync.count_file.write_text("10\n")
    assert sync.run("10").returncode == 1 and sync.unison_runs() == []
    assert "on fiori has 2 entries, 10 after the last sync" in sync.log.read_text()


def test_sync_stops_when_the_peer_cannot_be_counted(tmp_path: Path) -> None:
    sync = SyncScript(tmp_path)
    sync.make_entries(3)
    sync.count_file.write_text("3\n")
    assert sync.run("fail").returncode == 1 and sync.unison_runs() == []
    assert "cannot count the entries" in sync.log.read_text()
    assert sync.last_run.read_text().split()[1] == "1"


def test_a_failed_sync_keeps_the_last_count(tmp_path: Path) -> None:
    sync = SyncScript(tmp_path)
    sync.make_entries(6)
    sync.count_file.write_text("10\n")
    assert sync.run("10", unison_status=3).returncode == 3
    assert sync.count_file.read_text().strip() == "10"
    # The health report sees when and how the last run ended.
    when, status = sync.last_run.read_text().split()
    assert status == "3" and int(when) > 1_700_000_000


def version_check(local: str | None, remote: UnisonState | None) -> list[str]:
    """Run versions_sync's generator on a fake host; returns what it reported."""
    from pyinfra.context import ctx_host

    from operations import unison
    from tests.helpers import FakeHost

    reports: list[str] = []
    fake = FakeHost({Unison: UnisonState(version=local)})
    original_read, original_report = unison.read_node, unison.report
    unison.read_node = lambda name, root: remote
    unison.report = reports.append  # type: ignore[assignment]
    try:
        with ctx_host.use(fake):
            list(unison.versions_sync._inner(peer="torchio", root="/vol/rep-unison"))
    finally:
        unison.read_node, unison.report = original_read, original_report
    return reports


def test_a_peer_without_unison_yet_is_compared_later_not_refused() -> None:
    reports = version_check("unison version 2.52.1", UnisonState(version=None))
    assert reports == ["unison: torchio has no unison yet; the versions are compared once it has"]


def test_versions_from_2_52_on_sync_with_each_other_as_half_way_through_an_upgrade() -> None:
    # Debian 12 has 2.52, Debian 13 2.53: no report, no stop.
    assert version_check("unison version 2.52.1", UnisonState(version="unison version 2.53.7")) == []
    assert version_check("unison version 2.53.7", UnisonState(version="unison version 2.52.1")) == []
    assert version_check("unison version 2.52.1", UnisonState(version="unison version 2.52.1")) == []
    # As Debian's binaries print it (the upgrade on the lab found the suffix was not parsed).
    debian_12, debian_13 = "unison version 2.52.1 (ocaml 4.13.1)", "unison version 2.53.7 (ocaml 5.2.0)"
    assert version_check(debian_13, UnisonState(version=debian_12)) == []
    assert version_check(debian_12, UnisonState(version=debian_13)) == []
    assert UnisonState(version=debian_13).release == (2, 53, 7)


@pytest.mark.parametrize(
    ("local", "remote"),
    [
        ("unison version 2.51.5", "unison version 2.52.1"),
        ("unison version 2.52.1", "unison version 2.48.4"),
        ("unison version 2.51.5", "unison version 2.51.2"),
        (None, "unison version 2.53.0"),
        ("unison version 2.53.0", "unison version unknown"),
        ("unison version 2.53.7 (ocaml 5.2.0)", "unison version 2.51.2 (ocaml 4.08.1)"),
    ],
)
def test_versions_that_cannot_sync_stop_the_deploy_with_both_named(local: str | None, remote: str) -> None:
    from pyinfra.api import OperationError

    with pytest.raises(OperationError, match="unison on the two nodes cannot sync with each other") as raised:
        version_check(local, UnisonState(version=remote))
    assert remote in str(raised.value) and (local or "no unison") in str(raised.value)
    assert "2.52 or later on both" in str(raised.value)


def test_the_release_is_read_from_unisons_own_words() -> None:
    assert UnisonState(version="unison version 2.53.7").release == (2, 53, 7)
    assert UnisonState(version=None).release is None
    assert UnisonState(version="unison version 2.53.7+dev").release is None


def first_sync_commands(local: UnisonState, remote: UnisonState | None) -> list[str]:
    """first_sync's commands on a fake client host whose peer reads as `remote`."""
    import pytest
    from pyinfra.context import ctx_host

    from operations import unison
    from tests.helpers import FakeHost

    fake = FakeHost({Unison: local})
    with pytest.MonkeyPatch.context() as patch, ctx_host.use(fake):
        patch.setattr(unison, "read_node", lambda name, root: remote)
        patch.setattr(unison, "report", lambda message: None)
        return [str(c.get_raw_value()) for c in unison.first_sync._inner(peer="torchio", root="/vol/rep-unison")]


READY_PEER = UnisonState(version="unison version 2.52.1", authorized=("line",), mounted=True)
SYNCED_CLIENT = UnisonState(
    version="unison version 2.52.1", archives=("ar4b13",), known_hosts=("10.99.0.7 key",), mounted=True
)


def test_after_a_sync_with_the_peer_nothing_runs() -> None:
    peer = UnisonState(**{**READY_PEER.__dict__, "archives": ("ar38fa",)})
    assert first_sync_commands(SYNCED_CLIENT, peer) == []


def test_a_rebuilt_peer_without_an_archive_gets_a_first_sync_with_ours_set_aside() -> None:
    commands = first_sync_commands(SYNCED_CLIENT, READY_PEER)
    assert commands[0] == "mkdir -p /root/.unison/before-rebuild-of-torchio"
    assert "/root/.unison/ar* /root/.unison/fp* /root/.unison/twinstore-*.count" in commands[1]
    assert 'mv -f "$old" /root/.unison/before-rebuild-of-torchio/' in commands[1]
    assert commands[2] == "/usr/local/sbin/twinstore-unison-sync"


def test_a_rebuilt_peer_not_ready_yet_waits() -> None:
    not_mounted = UnisonState(**{**READY_PEER.__dict__, "mounted": False})
    assert first_sync_commands(SYNCED_CLIENT, not_mounted) == []
    # Unreachable, or unison not installed there yet: nothing is set aside.
    assert first_sync_commands(SYNCED_CLIENT, None) == []
    assert first_sync_commands(SYNCED_CLIENT, UnisonState()) == []
