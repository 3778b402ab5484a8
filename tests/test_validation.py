"""Every configuration rule, each broken once; the message must name the file, field and rule."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import (
    LAB_GROUPS,
    ROOT,
    real_nodes_with_test_passwords,
    real_views,
    secret_file_for_tests,
    storage_value,
    with_storage,
)
from twinstore.config import parse_size
from twinstore.validation import format_problems, validate


def messages(problems: list) -> str:
    return format_problems(problems)


def test_the_procedures_values_validate() -> None:
    assert validate(real_views()) == []


def test_the_lab_configuration_validates() -> None:
    views = real_views(ROOT / "lab" / "inventory.py", LAB_GROUPS)
    assert validate(views) == []
    fiori = next(v for v in views if v.name == "fiori")
    assert fiori.data["logical_volumes"]["rep-no"]["size"] == "1G"
    assert fiori.sources["logical_volumes"] == "lab/group_data/storage.py"
    # Everything the lab does not override is the real file's.
    assert fiori.sources["drbd_resources"] == "group_data/storage.py"


def test_bad_ip_address() -> None:
    nodes = storage_value("nodes")
    nodes[0]["lan_address"] = "192.168.1.300"
    text = messages(with_storage("nodes", nodes))
    assert "group_data/storage.py: nodes.0.lan_address = '192.168.1.300'" in text
    assert "IPv4" in text


def test_duplicate_node_names() -> None:
    nodes = storage_value("nodes")
    nodes[1]["name"] = "fiori"
    assert "nodes.1.name = 'fiori': node names must be unique" in messages(with_storage("nodes", nodes))


def test_node_name_not_in_inventory() -> None:
    nodes = storage_value("nodes")
    nodes[1]["name"] = "penne"
    text = messages(with_storage("nodes", nodes))
    assert "nodes.1.name = 'penne': must be a host of the inventory's 'storage' group" in text
    # torchio is in the storage group but no longer one of the pair's nodes.
    assert "host 'torchio' is in group 'storage' but not one of its pair's nodes" in text


def test_exactly_two_nodes_per_pair() -> None:
    nodes = storage_value("nodes")
    nodes.append({"name": "rigatoni", "lan_address": "192.168.1.8", "o2cb_number": 3})
    assert "a storage pair has exactly two nodes" in messages(with_storage("nodes", nodes))


def test_exactly_two_nodes_per_pair_is_the_only_problem_named() -> None:
    # The pair's own configuration is invalid: the NIS maps are not checked against its exports.
    nodes = storage_value("nodes")[:1]
    problems = with_storage("nodes", nodes)
    assert {problem.field for problem in problems} == {"nodes"}
    assert "a storage pair has exactly two nodes, not 1" in messages(problems)


@pytest.mark.parametrize(
    ("key", "change", "field", "rule"),
    [
        (
            "logical_volumes",
            {"rep-drbd0": {"size": "200G", "role": "drbd", "mount_point": "/vol/x"}},
            "logical_volumes.rep-drbd0",
            "a DRBD backing volume is not mounted directly",
        ),
        (
            "logical_volumes",
            {"rep-no": {"size": "100G", "role": "ext4"}},
            "logical_volumes.rep-no",
            "a volume with role 'ext4' needs a mount_point",
        ),
        ("sysctls", {"vm.min_free_kbytes; reboot": 1}, "sysctls.vm.min_free_kbytes; reboot.[key]", "not a sysctl name"),
        ("apt_sources", [{"uri": "http://deb.debian.org/debian"}], "apt_sources.0.uri", "http(s) URL with an IP"),
        ("apt_sources", [{"uri": "ftp://192.168.1.2/debian"}], "apt_sources.0.uri", "http(s) URL with an IP"),
    ],
)
def test_a_rule_about_one_object_names_its_field(key: str, change: object, field: str, rule: str) -> None:
    value = storage_value(key)
    value = {**value, **change} if isinstance(value, dict) and isinstance(change, dict) else change
    problems = with_storage(key, value)
    assert [problem.field for problem in problems] == [field], messages(problems)
    assert rule in problems[0].rule


@pytest.mark.parametrize("client", ["192.168.1.0/33", "host;reboot", "a..b", ""])
def test_an_export_client_that_is_no_address_network_or_name_is_refused(client: str) -> None:
    exports = storage_value("nfs_exports")
    exports[0]["clients"] = ["192.168.1.0/24", client]
    problems = with_storage("nfs_exports", exports)
    assert [problem.field for problem in problems] == ["nfs_exports.0.clients.1"], messages(problems)
    assert "must be an address, a network (a.b.c.d/n), a host name or *" in problems[0].rule


def test_duplicate_drbd_minor() -> None:
    resources = storage_value("drbd_resources")
    resources["drbd1"]["minor"] = 0
    assert "drbd_resources.drbd1.minor = 0: DRBD minors must be unique" in messages(
        with_storage("drbd_resources", resources)
    )


def test_drbd_handler_with_double_quotes() -> None:
    options = storage_value("drbd_options")
    options["split_brain_handler"] = 'mail -s "split brain" root'
    text = messages(with_storage("drbd_options", options))
    assert "drbd_options.split_brain_handler = 'mail -s \"split brain\" root'" in text, text
    assert "without double quotes" in text


def test_duplicate_drbd_port() -> None:
    resources = storage_value("drbd_resources")
    resources["drbd1"]["port"] = 7790
    assert "drbd_resources.drbd1.port = 7790: ports must be unique" in messages(
        with_storage("drbd_resources", resources)
    )


def test_drbd_port_clashing_with_o2cb() -> None:
    resources = storage_value("drbd_resources")
    resources["drbd1"]["port"] = 7777
    assert "ports must be unique (also drbd_resources.drbd1.port)" in messages(
        with_storage("drbd_resources", resources)
    )


def test_duplicate_drbd_backing_device() -> None:
    resources = storage_value("drbd_resources")
    resources["drbd1"]["backing_volume"] = "rep-drbd0"
    assert (
        "drbd_resources.drbd1.backing_volume = 'rep-drbd0': each DRBD resource needs its own backing volume"
        in messages(with_storage("drbd_resources", resources))
    )


def test_drbd_backing_volume_must_have_role_drbd() -> None:
    resources = storage_value("drbd_resources")
    resources["drbd1"]["backing_volume"] = "rep-no"
    assert "a DRBD backing volume needs role 'drbd'" in messages(with_storage("drbd_resources", resources))


def test_ocfs2_volume_on_unknown_drbd_resource() -> None:
    volumes = storage_value("ocfs2_volumes")
    volumes["ocfs2-large"]["drbd_resource"] = "drbd7"
    assert "ocfs2_volumes.ocfs2-large.drbd_resource = 'drbd7': must name a DRBD resource" in messages(
        with_storage("ocfs2_volumes", volumes)
    )


@pytest.mark.parametrize("size", ["100X", "G", "-5G", "0G", "1.5"])
def test_bad_sizes(size: str) -> None:
    volumes = storage_value("logical_volumes")
    volumes["rep-no"]["size"] = size
    text = messages(with_storage("logical_volumes", volumes))
    assert f"logical_volumes.rep-no.size = {size!r}" in text


def test_sizes_parse_in_binary_units() -> None:
    assert parse_size("100G") == 100 * 1024**3
    assert parse_size("2T") == 2 * 1024**4
    assert parse_size("1.5G") == 3 * 1024**3 // 2


def test_relative_mount_point() -> None:
    volumes = storage_value("logical_volumes")
    volumes["rep-no"]["mount_point"] = "vol/rep-no"
    assert "logical_volumes.rep-no.mount_point = 'vol/rep-no'" in messages(with_storage("logical_volumes", volumes))


def test_duplicate_mount_points() -> None:
    volumes = storage_value("ocfs2_volumes")
    volumes["ocfs2-large"]["mount_point"] = "/vol/rep-no"
    assert "ocfs2_volumes.ocfs2-large.mount_point = '/vol/rep-no': mount points must be unique" in messages(
        with_storage("ocfs2_volumes", volumes)
    )


def test_export_of_an_unreplicated_volume() -> None:
    exports = [*storage_value("nfs_exports"), {"path": "/vol/scratch"}]
    text = messages(with_storage("nfs_exports", exports))
    assert "nfs_exports.5.path = '/vol/scratch': resolves to /vol/rep-no/scratch" in text
    assert "unreplicated data is not exported" in text


def test_unison_volume_must_not_be_drbd_backed() -> None:
    unison = storage_value("unison")
    unison["volume"] = "rep-drbd0"
    assert "unison.volume = 'rep-drbd0'" in messages(with_storage("unison", unison))
    assert "never a DRBD-backed one" in messages(with_storage("unison", unison))


@pytest.mark.parametrize("schedule", ["61 * * * *", "0 0 * *", "0 0 32 * *", "every night"])
def test_bad_cron_schedule(schedule: str) -> None:
    unison = storage_value("unison")
    unison["schedule"] = schedule
    assert f"unison.schedule = {schedule!r}" in messages(with_storage("unison", unison))


def test_duplicate_o2cb_numbers() -> None:
    nodes = storage_value("nodes")
    nodes[1]["o2cb_number"] = 1
    assert "nodes.1.o2cb_number = 1: o2cb node numbers must be unique" in messages(with_storage("nodes", nodes))


def test_unknown_setting_is_a_typo() -> None:
    views = real_views()
    for view in views:
        if view.name == "fiori":
            view.data["drbd_resource"] = {}
            view.sources["drbd_resource"] = "group_data/storage.py"
    assert "group_data/storage.py: drbd_resource = {}: unknown setting (a typo?)" in messages(validate(views))


def test_unknown_nested_setting() -> None:
    options = storage_value("drbd_options")
    options["ping_timeout"] = 60
    assert "drbd_options.ping_timeout = 60: unknown setting (a typo?)" in messages(
        with_storage("drbd_options", options)
    )


def test_backlink_needs_link_addresses() -> None:
    nodes = storage_value("nodes")
    del nodes[1]["link_address"]
    views = real_views()
    for view in views:
        if view.name in ("fiori", "torchio"):
            view.data["nodes"] = nodes
            view.data["replication_link"] = {"mode": "backlink"}
    assert (
        "nodes.1.link_address = None: replication_link.mode 'backlink' needs a link_address on every node"
        in messages(validate(views))
    )


def test_both_nodes_must_agree() -> None:
    resources = storage_value("drbd_resources")
    resources["drbd0"]["port"] = 7800
    text = messages(with_storage("drbd_resources", resources, hosts=("torchio",)))
    assert "drbd_resources = (on torchio): both nodes of a pair need the same drbd_resources" in text


def test_nis_map_outside_the_exports() -> None:
    views = real_views()
    rotini = next(v for v in views if v.name == "rotini")
    rotini.data["automount_maps"] = {
        "auto.home": {"alexis": {"servers": ["fiori.pasta.net"], "path": "/vol/scratch/alexis"}}
    }
    text = messages(validate(views))
    assert "group_data/nis_servers.py: automount_maps.auto.home.alexis.path = '/vol/scratch/alexis'" in text


def test_nfs_client_map_nobody_serves() -> None:
    views = real_views()
    chifferi = next(v for v in views if v.name == "chifferi")
    chifferi.data["automount_points"] = {"/staging": "auto.stagign"}
    assert "automount_points./staging = 'auto.stagign': no NIS server serves this map" in messages(validate(views))


def test_first_leg_must_name_a_node() -> None:
    views = real_views()
    for view in views:
        if view.name == "fiori":
            view.data["first_leg"] = "torchi"
            view.sources["first_leg"] = "--data"
    assert "--data: first_leg = 'torchi': must name one of this pair's nodes" in messages(validate(views))


def test_split_brain_discard_must_name_a_node() -> None:
    views = real_views()
    for view in views:
        if view.name in ("fiori", "torchio"):
            view.data["split_brain_discard"] = "all"
            view.sources["split_brain_discard"] = "--data"
    assert "--data: split_brain_discard = 'all': must name one of this pair's nodes" in messages(validate(views))


def test_split_brain_discard_is_refused_in_a_file() -> None:
    views = real_views()
    for view in views:
        if view.name in ("fiori", "torchio"):
            view.data["split_brain_discard"] = "torchio"
    found = messages(validate(views))
    assert "split_brain_discard = 'torchio': only for one run, on the command line" in found
    for view in views:
        if view.name in ("fiori", "torchio"):
            view.sources["split_brain_discard"] = "--data"
    assert "split_brain_discard" not in messages(validate(views))


def test_every_problem_is_listed_in_one_message() -> None:
    resources = storage_value("drbd_resources")
    resources["drbd1"]["minor"] = 0
    resources["drbd1"]["port"] = 7790
    problems = with_storage("drbd_resources", resources)
    text = messages(problems)
    assert len(problems) >= 2
    assert text.startswith(f"twinstore: the configuration has {len(problems)} problem(s); nothing was touched:")


def test_a_second_pair_is_a_second_group(tmp_path: Path) -> None:
    (tmp_path / "group_data").mkdir()
    (tmp_path / "group_data" / "pair_b.py").write_text(
        "_bmc = {'agent': 'fence_ipmilan', 'options': {'ip': '192.168.2.1'}, 'password_file': '/etc/bmc'}\n"
        "nodes = [\n"
        "    {'name': 'rigatoni', 'lan_address': '192.168.1.16', 'o2cb_number': 1, 'fence': _bmc},\n"
        "    {'name': 'penne', 'lan_address': '192.168.1.17', 'o2cb_number': 2, 'fence': _bmc},\n"
        "]\n"
        "unison = {'volume': 'rep-unison', 'client': 'rigatoni'}\n"
    )
    groups = {
        "storage": ["fiori", "torchio", "rigatoni", "penne"],
        "pair_b": ["rigatoni", "penne"],
        "nis_servers": ["rotini"],
        "nfs_clients": ["chifferi"],
    }
    views = real_views(tmp_path / "inventory.py", groups)
    assert validate(views) == []
    penne = next(v for v in views if v.name == "penne")
    assert [n["name"] for n in penne.data["nodes"]] == ["rigatoni", "penne"]
    # The rest (DRBD resources, OCFS2 volumes, exports) comes from group_data/storage.py.
    assert penne.sources["drbd_resources"] == "group_data/storage.py"


def test_the_cli_stops_before_connecting(tmp_path: Path) -> None:
    """A bad value stops `pyinfra inventory.py deploy.py` before it connects to any host."""
    (tmp_path / "group_data").mkdir()
    (tmp_path / "group_data" / "storage.py").write_text(
        "drbd_resources = {\n"
        "    'drbd0': {'minor': 0, 'port': 7790, 'backing_volume': 'rep-drbd0'},\n"
        "    'drbd1': {'minor': 1, 'port': 7790, 'backing_volume': 'rep-drbd1'},\n"
        "}\n"
        f"drbd_options = {{'shared_secret_file': {str(secret_file_for_tests())!r}}}\n"
        f"nodes = {real_nodes_with_test_passwords()!r}\n"
    )
    inventory = tmp_path / "inventory.py"
    inventory.write_text((ROOT / "inventory.py").read_text())
    result = subprocess.run(
        [sys.executable, "-m", "pyinfra", "-y", str(inventory), "deploy.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "group_data/storage.py: drbd_resources.drbd1.port = 7790: ports must be unique" in output
    assert "Connecting to hosts" not in output


@pytest.mark.parametrize("client", ["192.168.1.0/33", "host_name", "a..b"])
def test_bad_export_client(client: str) -> None:
    exports = storage_value("nfs_exports")
    exports[0]["clients"] = [client]
    assert f"nfs_exports.0.clients.0 = {client!r}: must be an address" in messages(with_storage("nfs_exports", exports))


@pytest.mark.parametrize("name", ["torchio", "localhost"])
def test_extra_hosts_cannot_rename_a_node(name: str) -> None:
    text = messages(with_storage("extra_hosts", {name: "192.168.1.99"}))
    assert f"group_data/storage.py: extra_hosts.{name} = '{name}': already in /etc/hosts" in text


def test_nis_map_servers_are_storage_nodes_by_name_or_address() -> None:
    views = real_views()
    rotini = next(v for v in views if v.name == "rotini")
    servers = ["fiori", "torchio.pasta.net", "192.168.1.6", "192.168.1.99", "penne.pasta.net"]
    rotini.data["automount_maps"] = {"auto.staging": {"pub": {"servers": servers, "path": "/vol/pub"}}}
    text = messages(validate(views))
    assert "servers.0" not in text and "servers.1" not in text and "servers.2" not in text
    assert "automount_maps.auto.staging.pub.servers.3 = '192.168.1.99': must name a storage node" in text
    assert "automount_maps.auto.staging.pub.servers.4 = 'penne.pasta.net': must name a storage node" in text


@pytest.mark.parametrize("key", ["first_leg", "split_brain_discard", "promote_alone"])
def test_one_run_switches_are_refused_in_a_file_and_must_agree(key: str) -> None:
    views = real_views()
    for view in views:
        if view.name in ("fiori", "torchio"):
            view.data[key] = "torchio"
    found = messages(validate(views))
    assert f"{key} = 'torchio': only for one run, on the command line (--data {key}=NODE)" in found
    for view in views:
        if view.name in ("fiori", "torchio"):
            view.sources[key] = "--data"
    assert key not in messages(validate(views))
    # Set for one node only (host data in the inventory): the pair's nodes disagree.
    for view in views:
        if view.name == "fiori":
            del view.data[key]
    assert f"both nodes of a pair need the same {key}" in messages(validate(views))


@pytest.mark.parametrize(
    ("option", "policy"),
    [
        ("after_sb_1pri", "discard-secondary"),
        ("after_sb_0pri", "discard-least-changes"),
        ("after_sb_2pri", "violently-as0p"),
    ],
)
def test_a_split_brain_policy_that_discards_writes_needs_an_explicit_acceptance(option: str, policy: str) -> None:
    options = {**storage_value("drbd_options"), option: policy}
    found = messages(with_storage("drbd_options", options))
    assert (
        f"group_data/storage.py: drbd_options.{option} = {policy!r}: throws away one node's writes after a "
        "split brain with no one deciding"
    ) in found, found
    accepted = {**options, "accept_automatic_data_loss": True}
    assert with_storage("drbd_options", accepted) == []


def test_the_shipped_split_brain_policies_lose_no_write() -> None:
    options = storage_value("drbd_options")
    assert (options["after_sb_0pri"], options["after_sb_1pri"], options["after_sb_2pri"]) == (
        "discard-zero-changes", "consensus", "disconnect",
    )  # fmt: skip
    assert "accept_automatic_data_loss" not in options


def test_boot_wait_timeouts_must_shrink_in_drbds_order() -> None:
    options = {**storage_value("drbd_options"), "degr_wfc_timeout": 300}
    found = messages(with_storage("drbd_options", options))
    assert "drbd_options.degr_wfc_timeout = 300: must be between 1 and wfc_timeout (120)" in found, found
    forever = {**storage_value("drbd_options"), "wfc_timeout": 0, "degr_wfc_timeout": 300, "outdated_wfc_timeout": 60}
    assert with_storage("drbd_options", forever) == []


# --- hostile or careless input: refused before any host is touched, the secret never shown ---


def with_host_key(host: str, key: str, value: object) -> str:
    views = real_views()
    for view in views:
        if view.name == host:
            view.data[key] = value
    return messages(validate(views))


@pytest.mark.parametrize(
    ("secret", "rule"),
    [
        ('twinstore-pair-a-"quoted"-secret', "without quotes, backslash or blanks"),
        ("twinstore pair a with blanks", "without quotes, backslash or blanks"),
        ("twinstore-pair-a\nsecret-on-2-lines", "holds more than one line"),
        ("short-secret", "20 to 64 characters long"),
        ("change-me-twinstore-pair-a", "the shipped placeholder"),
    ],
)
def test_a_bad_shared_secret_is_refused_and_never_printed(secret: str, rule: str) -> None:
    options = storage_value("drbd_options")
    options["shared_secret_file"] = str(secret_file_for_tests("bad-secret", secret))
    text = messages(with_storage("drbd_options", options))
    assert f"drbd_options.shared_secret_file = '{options['shared_secret_file']}'" in text, text
    assert rule in text, text
    assert secret not in text and "pair-a" not in text and "quoted" not in text, text


def test_a_secret_file_others_can_read_or_inside_the_repository_is_refused() -> None:
    options = storage_value("drbd_options")
    readable = secret_file_for_tests("readable-secret")
    readable.chmod(0o644)
    options["shared_secret_file"] = str(readable)
    assert "is readable by others (mode 0644): chmod 600 it" in messages(with_storage("drbd_options", options))
    options["shared_secret_file"] = str(ROOT / "group_data" / "storage.py")
    assert "is inside the repository" in messages(with_storage("drbd_options", options))
    options["shared_secret_file"] = "/nonexistent/secret"
    assert "cannot be read here: No such file or directory" in messages(with_storage("drbd_options", options))


def test_a_secret_written_in_group_data_is_refused_and_not_printed() -> None:
    options = storage_value("drbd_options")
    options["shared_secret"] = "a-good-looking-secret-in-a-file"
    text = messages(with_storage("drbd_options", options))
    assert "drbd_options.shared_secret = **********: a secret is not written in group_data" in text, text
    assert "a-good-looking" not in text


def test_a_secret_in_a_misspelt_setting_is_not_printed_either() -> None:
    options = storage_value("drbd_options")
    options["shared_secret"] = "a-good-looking-secret-in-a-file"
    text = with_host_key("fiori", "drbd_optoins", options)
    assert "drbd_optoins = " in text and "unknown setting" in text, text
    assert "a-good-looking" not in text, text


@pytest.mark.parametrize(
    "path",
    ["/vol/pub $(reboot)", "/vol/pub;reboot", '/vol/"pub"', "/vol/pub`id`", "/vol/*", "/vol/p\\ub"],
)
def test_an_export_path_with_shell_syntax_is_refused(path: str) -> None:
    exports = storage_value("nfs_exports")
    exports[0]["path"] = path
    text = messages(with_storage("nfs_exports", exports))
    assert "nfs_exports.0.path = " in text and "must be a plain path" in text, text


def test_a_mount_point_or_log_file_with_a_blank_is_refused() -> None:
    volumes = storage_value("logical_volumes")
    volumes["rep-no"]["mount_point"] = "/vol/rep no"
    assert "logical_volumes.rep-no.mount_point = '/vol/rep no': '/vol/rep no' must be a plain path" in messages(
        with_storage("logical_volumes", volumes)
    )
    unison = storage_value("unison")
    unison["log_file"] = "/var/log/unison.log'"
    assert "unison.log_file = " in messages(with_storage("unison", unison))


def test_a_line_break_anywhere_is_refused() -> None:
    # A newline in a value that lands in a line-based file would add a line of its own.
    text = messages(with_storage("sysctls", {"vm.swappiness": "10\nkernel.sysrq = 1"}))
    assert "sysctls = " in text and "the value of 'vm.swappiness' holds a line break" in text, text
    volumes = storage_value("ocfs2_volumes")
    first = next(iter(volumes))
    volumes[first]["label"] = "home\nx"
    assert f"ocfs2_volumes.{first}.label = " in messages(with_storage("ocfs2_volumes", volumes))


@pytest.mark.parametrize("option", ["rw,insecure", "no_root_squash)", "anonuid=root", "bogus", "sec=none;id"])
def test_an_export_option_exports_does_not_know_is_refused(option: str) -> None:
    exports = storage_value("nfs_exports")
    exports[0]["options"] = ["rw", option]
    text = messages(with_storage("nfs_exports", exports))
    assert "nfs_exports.0.options.1 = " in text and "is not an exports(5) option" in text, text


def test_export_options_with_values_are_accepted() -> None:
    exports = storage_value("nfs_exports")
    exports[0]["options"] = ["ro", "root_squash", "anonuid=65534", "anongid=65534", "sec=krb5p:sys", "fsid=1"]
    assert with_storage("nfs_exports", exports) == []


@pytest.mark.parametrize("client", ["*(rw,insecure)", "192.168.1.0/24 *", "host;reboot"])
def test_an_export_client_that_is_not_a_host_or_network_is_refused(client: str) -> None:
    exports = storage_value("nfs_exports")
    exports[0]["clients"] = [client]
    assert "nfs_exports.0.clients.0 = " in messages(with_storage("nfs_exports", exports))


@pytest.mark.parametrize("option", ["noatime,suid", "x-systemd.requires=a b", "data=$(id)"])
def test_a_mount_option_that_is_not_one_option_is_refused(option: str) -> None:
    text = messages(with_storage("ocfs2_mount_options", ["_netdev", option]))
    assert "ocfs2_mount_options.1 = " in text and "is not one mount option" in text, text


def test_an_automount_entry_with_map_syntax_is_refused() -> None:
    views = real_views()
    client = next(view for view in views if "auto.home" in view.data.get("automount_maps", {}))
    entry = client.data["automount_maps"]["auto.home"]["alexis"]
    entry["options"] = [*entry["options"], "rw /x"]
    entry["servers"] = ["fiori.pasta.net", "torchio:/etc"]
    text = messages(validate(views))
    assert "automount_maps.auto.home.alexis.options.4 = 'rw /x'" in text, text
    assert "automount_maps.auto.home.alexis.servers.1 = 'torchio:/etc'" in text, text


def test_a_client_link_target_leaving_its_directory_is_refused() -> None:
    views = real_views()
    client = next(view for view in views if "client_links" in view.data)
    client.data["client_links"] = [{"path": "/pub", "target": "../etc/shadow"}]
    assert "client_links.0.target" in messages(validate(views))
