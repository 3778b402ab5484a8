"""Validate the whole configuration before any host is touched.

Two entry points share one set of rules:

* ``check_inventory_files`` runs from ``inventory.py`` while pyinfra loads the inventory,
  before it connects to anything; it reads the group_data files itself so every problem
  can name the file that set the bad value.
* ``check_deploy_inventory`` runs at the top of ``deploy.py`` on pyinfra's own inventory,
  which then also holds ``--data`` overrides (``first_leg=...``).

Both print every problem in one message and exit with status 2.
"""

from __future__ import annotations

import runpy
import sys
import types
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from twinstore.config import (
    NFS_CLIENT_KEYS,
    NIS_SERVER_KEYS,
    SECRET_FIELDS,
    SITE_KEYS,
    STORAGE_KEYS,
    NfsClientConfig,
    NisServerConfig,
    SiteConfig,
    StorageConfig,
    is_under,
    parse_size,
)

STORAGE_GROUP = "storage"
# mkfs.ocfs2 -T vmstore refuses a device under 2 GiB; DRBD's internal metadata takes a little.
VMSTORE_MINIMUM_BACKING = 2112 * 1024**2
NIS_SERVER_GROUP = "nis_servers"
NFS_CLIENT_GROUP = "nfs_clients"
KNOWN_KEYS = STORAGE_KEYS | SITE_KEYS | NIS_SERVER_KEYS | NFS_CLIENT_KEYS
# Data pyinfra itself or its connectors read.
CONNECTOR_KEY_PREFIXES = ("ssh_", "_", "pyinfra_")

# Keys that decide about data for one run: accepted only from --data, with what each would do
# if it stayed in a file.
ONE_RUN_SWITCHES = {
    "first_leg": "force that node's copy Primary",
    "split_brain_discard": "throw away that node's changes",
    "promote_alone": "make that node's possibly older copy the pair's data",
}

# (group, key) -> file that set it, recorded when inventory.py loads the group_data, so
# the deploy-time check can still name the file.
PROVENANCE: dict[tuple[str, str], str] = {}


@dataclass(frozen=True, order=True)
class Problem:
    source: str
    field: str
    value: str
    rule: str

    def __str__(self) -> str:
        return f"{self.source}: {self.field} = {self.value}: {self.rule}"


class ConfigurationError(Exception):
    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(set(problems))
        super().__init__(format_problems(self.problems))


def format_problems(problems: list[Problem]) -> str:
    lines = [f"twinstore: the configuration has {len(problems)} problem(s); nothing was touched:"]
    lines += [f"  - {problem}" for problem in problems]
    return "\n".join(lines)


@dataclass
class HostView:
    """One host's merged data, and where each top-level key came from."""

    name: str
    groups: list[str]
    data: dict[str, Any]
    sources: dict[str, str] = field(default_factory=dict)

    def source(self, key: str) -> str:
        return self.sources.get(key, "group_data")


HIDDEN = "**********"


def redacted(value: Any) -> Any:
    """A configuration value as it may be printed: every secret field's value hidden."""
    if isinstance(value, dict):
        return {key: HIDDEN if key in SECRET_FIELDS else redacted(item) for key, item in value.items()}
    if isinstance(value, list):
        return [redacted(item) for item in value]
    return value


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


# --- loading ------------------------------------------------------------------------------


def load_group_data(directory: Path, base: Path) -> dict[str, dict[str, Any]]:
    """Each ``*.py`` in a group_data directory as {group: {key: value}}, like pyinfra does."""
    groups: dict[str, dict[str, Any]] = {}
    if not directory.is_dir():
        return groups
    for path in sorted(directory.glob("*.py")):
        attributes = runpy.run_path(str(path))
        values = {
            key: value
            for key, value in attributes.items()
            if not key.startswith("__") and not isinstance(value, types.ModuleType | type | types.FunctionType)
        }
        groups[path.stem] = values
        try:
            shown = str(path.relative_to(base))
        except ValueError:
            shown = str(path)
        for key in values:
            PROVENANCE[(path.stem, key)] = shown
    return groups


def _host_names(members: Any) -> list[tuple[str, dict[str, Any]]]:
    if isinstance(members, tuple):
        members = members[0]
    named = []
    for member in members:
        if isinstance(member, tuple):
            named.append((member[0], dict(member[1])))
        else:
            named.append((member, {}))
    return named


def views_from_files(
    inventory_file: str,
    groups: dict[str, Any],
    cwd: str | None = None,
    override_data: dict[str, Any] | None = None,
) -> list[HostView]:
    """Merge groups and group_data as pyinfra's CLI does: --data, host, groups in order, all."""
    inventory_dir = Path(inventory_file).resolve().parent
    working_dir = Path(cwd or Path.cwd()).resolve()
    group_data: dict[str, dict[str, Any]] = defaultdict(dict)
    # Later folders override earlier ones per key, as in pyinfra_cli.inventory.
    folders = [working_dir / "group_data"]
    if inventory_dir != working_dir:
        folders.append(inventory_dir / "group_data")
    for folder in folders:
        for group, values in load_group_data(folder, working_dir).items():
            group_data[group].update(values)

    inventory_groups = {name: members for name, members in groups.items() if name != "all"}
    host_data: dict[str, dict[str, Any]] = defaultdict(dict)
    host_groups: dict[str, list[str]] = defaultdict(list)
    for group, members in inventory_groups.items():
        for name, values in _host_names(members):
            host_data[name].update(values)
            host_groups[name].append(group)
    file_group = Path(inventory_file).name.rsplit(".", 1)[0]
    for name in host_groups:
        if file_group not in inventory_groups:
            host_groups[name].append(file_group)

    views = []
    for name, member_of in host_groups.items():
        layers: list[Layer] = [(group_data.get("all", {}), "all", "group_data/all.py")]
        layers += [(group_data.get(group, {}), group, f"group_data/{group}.py") for group in member_of]
        layers.append((host_data[name], None, f"{Path(inventory_file).name} (host {name})"))
        layers.append((override_data or {}, None, "--data"))
        views.append(_merge_layers(name, member_of, layers))
    return views


# (values, group they belong to or None, where they came from when not recorded in PROVENANCE)
Layer = tuple[dict[str, Any], str | None, str]


def _merge_layers(name: str, groups: list[str], layers: list[Layer]) -> HostView:
    """Later layers win, as in pyinfra's HostData; remember which layer set each key."""
    data: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for values, group, default_source in layers:
        for key, value in values.items():
            data[key] = value
            sources[key] = PROVENANCE.get((group, key), default_source) if group else default_source
    return HostView(name=name, groups=groups, data=data, sources=sources)


def host_view(inventory: Any, host: Any) -> HostView:
    """One host's merged data and sources from pyinfra's live Inventory (--data included)."""
    layers: list[Layer] = [(inventory.get_data(), "all", "group_data/all.py")]
    layers += [(inventory.get_group_data(group), group, f"group_data/{group}.py") for group in host.groups]
    layers.append((inventory.get_host_data(host.name), None, f"inventory (host {host.name})"))
    layers.append((inventory.get_override_data(), None, "--data"))
    return _merge_layers(host.name, list(host.groups), layers)


def host_source(host: Any, key: str) -> str:
    """The file (or --data) that set a top-level key for this host."""
    return host_view(host.inventory, host).source(key)


def views_from_inventory(inventory: Any) -> list[HostView]:
    return [host_view(inventory, host) for host in inventory]


def stop(problems: list[Problem]) -> None:
    """Print every problem and end the run before any operation executes."""
    if problems:
        print(format_problems(sorted(set(problems))), file=sys.stderr)
        raise SystemExit(2)


# --- model validation ---------------------------------------------------------------------


def _model_problems(view: HostView, model: type[BaseModel], keys: frozenset[str]) -> tuple[Any | None, list[Problem]]:
    subset = {key: value for key, value in view.data.items() if key in keys}
    try:
        return model.model_validate(subset), []
    except ValidationError as error:
        problems = []
        for detail in error.errors():
            location = [str(part) for part in detail["loc"]]
            top = location[0] if location else "?"
            if detail["type"] == "missing":
                value = "(missing)"
            elif SECRET_FIELDS & set(location):
                value = HIDDEN
            else:
                value = _short(redacted(detail.get("input")))
            rule = detail["msg"].removeprefix("Value error, ")
            if detail["type"] == "extra_forbidden":
                rule = "unknown setting (a typo?)"
            problems.append(Problem(view.source(top), ".".join(location), value, rule))
        return None, problems


def _unknown_keys(view: HostView) -> list[Problem]:
    return [
        Problem(view.source(key), key, _short(redacted(value)), "unknown setting (a typo?)")
        for key, value in view.data.items()
        if key not in KNOWN_KEYS and not key.startswith(CONNECTOR_KEY_PREFIXES)
    ]


# --- cross-object rules -------------------------------------------------------------------


def _duplicates(items: list[tuple[str, Any]]) -> dict[Any, list[str]]:
    seen: dict[Any, list[str]] = defaultdict(list)
    for name, value in items:
        seen[value].append(name)
    return {value: names for value, names in seen.items() if len(names) > 1}


# How a rule reports a problem: the top-level key (for the file it came from), the field's path,
# its value, and the rule it broke.
AddProblem = Callable[[str, str, Any, str], None]


def _check_fencing(config: StorageConfig, add: AddProblem) -> None:
    """Two Primaries need fencing, and fencing must end before o2cb fences the survivor."""
    if not config.drbd_options.allow_two_primaries or len(config.nodes) != 2:
        return
    for i, node in enumerate(config.nodes):
        if node.fence is None and not config.dual_primary_without_fencing:
            add(
                "nodes",
                f"nodes.{i}.fence",
                None,
                "not set, and both nodes are Primary (drbd_options.allow_two_primaries): when the replication link "
                "fails, each node needs a way to power the other off (a fence agent and its BMC), or both go on "
                "writing and their copies diverge; set each node's fence, or set dual_primary_without_fencing = "
                "True to accept that risk",
            )
    limit = config.ocfs2_cluster.disk_heartbeat_seconds
    if config.stonith and config.frozen_seconds >= limit:
        add(
            "fencing",
            "fencing.agent_timeout_seconds",
            config.fencing.agent_timeout_seconds,
            f"I/O may stay frozen {config.frozen_seconds:g} s after the replication link fails (drbd_options."
            "ping_int + ping_timeout_tenths / 10 + fencing.delay_seconds + agent_timeout_seconds), not less than "
            f"o2cb's disk heartbeat timeout ({limit} s from ocfs2_cluster.heartbeat_threshold): the surviving node "
            "would fence itself; lower those or raise heartbeat_threshold",
        )


def _unique_values(config: StorageConfig) -> list[tuple[list[tuple[str, Any]], str]]:
    """What must be unique within a pair: (field path, value) of each object, and the rule."""
    nodes = list(enumerate(config.nodes))
    resources = config.drbd_resources.items()
    ocfs2 = config.ocfs2_volumes.items()
    volumes = config.logical_volumes.items()
    accounts = list(enumerate(config.accounts))
    return [
        ([(f"nodes.{i}.name", node.name) for i, node in nodes], "node names must be unique"),
        ([(f"nodes.{i}.lan_address", node.lan_address) for i, node in nodes], "node LAN addresses must be unique"),
        ([(f"nodes.{i}.o2cb_number", node.o2cb_number) for i, node in nodes], "o2cb node numbers must be unique"),
        (
            [(f"nodes.{i}.link_address", node.link_address) for i, node in nodes if node.link_address],
            "node link addresses must be unique",
        ),
        ([(f"drbd_resources.{name}.minor", res.minor) for name, res in resources], "DRBD minors must be unique"),
        (
            [(f"drbd_resources.{name}.port", res.port) for name, res in resources]
            + [("ocfs2_cluster.port", config.ocfs2_cluster.port)],
            "ports must be unique",
        ),
        (
            [(f"drbd_resources.{name}.backing_volume", res.backing_volume) for name, res in resources],
            "each DRBD resource needs its own backing volume",
        ),
        (
            [(f"ocfs2_volumes.{name}.drbd_resource", volume.drbd_resource) for name, volume in ocfs2],
            "each DRBD resource carries one OCFS2 volume",
        ),
        ([(f"ocfs2_volumes.{name}.label", volume.label) for name, volume in ocfs2], "labels must be unique"),
        (
            [(f"logical_volumes.{name}.mount_point", v.mount_point) for name, v in volumes if v.mount_point]
            + [(f"ocfs2_volumes.{name}.mount_point", volume.mount_point) for name, volume in ocfs2],
            "mount points must be unique",
        ),
        (
            [(f"public_links.{i}.path", link.path) for i, link in enumerate(config.public_links)],
            "public link paths must be unique",
        ),
        (
            [(f"nfs_exports.{i}.path", export.path) for i, export in enumerate(config.nfs_exports)],
            "export paths must be unique",
        ),
        *(
            (
                [(f"accounts.{i}.{attribute}", getattr(a, attribute)) for i, a in accounts],
                f"account {attribute}s must be unique",
            )
            for attribute in ("name", "uid", "gid")
        ),
    ]


def _check_nodes(
    config: StorageConfig, view: HostView, storage_hosts: dict[str, StorageConfig], add: AddProblem
) -> None:
    """The pair's nodes: hosts of the inventory that name the same pair, and their addresses."""
    for i, node in enumerate(config.nodes):
        if node.name not in storage_hosts:
            add("nodes", f"nodes.{i}.name", node.name, f"must be a host of the inventory's '{STORAGE_GROUP}' group")
        elif storage_hosts[node.name].node_names != config.node_names:
            add("nodes", f"nodes.{i}.name", node.name, "this host's own data names a different pair")
        if node.link_address and node.link_address in [n.lan_address for n in config.nodes]:
            add(
                "nodes",
                f"nodes.{i}.link_address",
                node.link_address,
                "the back-to-back address must differ from every LAN address",
            )
    if view.name not in config.node_names:
        add(
            "nodes",
            "nodes",
            config.node_names,
            f"host '{view.name}' is in group '{STORAGE_GROUP}' but not one of its pair's nodes",
        )
    if config.replication_link.mode == "backlink":
        for i, node in enumerate(config.nodes):
            if node.link_address is None:
                add(
                    "replication_link",
                    f"nodes.{i}.link_address",
                    None,
                    "replication_link.mode 'backlink' needs a link_address on every node",
                )
        networks = {
            IPv4Network(f"{node.link_address}/{config.replication_link.prefix_length}", strict=False)
            for node in config.nodes
            if node.link_address
        }
        if len(networks) > 1:
            add(
                "nodes",
                "nodes.*.link_address",
                [str(n.link_address) for n in config.nodes],
                "back-to-back addresses must share one subnet",
            )


def _check_one_run_switches(config: StorageConfig, src: Callable[[str], str], add: AddProblem) -> None:
    """The decisions a user takes for one run, on the command line, one at a time."""
    for key, risk in ONE_RUN_SWITCHES.items():
        value = getattr(config, key)
        if value is None:
            continue
        if src(key) != "--data":
            add(
                key,
                key,
                value,
                f"only for one run, on the command line (--data {key}=NODE): kept in a file it would {risk} "
                "the next time the situation arises, with no one deciding",
            )
        if value not in config.node_names:
            add(key, key, value, "must name one of this pair's nodes")
    if config.upgrade_to is not None:
        if src("upgrade_to") != "--data":
            add(
                "upgrade_to",
                "upgrade_to",
                config.upgrade_to,
                "only for one run, on the command line (--limit NODE --data upgrade_to=RELEASE): kept in a "
                "file it would take a node out of service and upgrade it in every run",
            )
        switches = [key for key in ONE_RUN_SWITCHES if getattr(config, key) is not None]
        if switches:
            add(
                "upgrade_to",
                "upgrade_to",
                config.upgrade_to,
                f"an upgrade and {', '.join(switches)} are separate decisions; run them one at a time",
            )
    if config.promote_alone is not None and config.split_brain_discard is not None:
        add(
            "promote_alone",
            "promote_alone",
            config.promote_alone,
            "promote_alone and split_brain_discard are separate decisions; run them one at a time",
        )


def _check_references(config: StorageConfig, add: AddProblem) -> None:
    """What the DRBD resources and OCFS2 volumes name, and what that asks of it."""
    volumes = config.logical_volumes
    resources = config.drbd_resources
    for name, res in resources.items():
        backing = volumes.get(res.backing_volume)
        if backing is None:
            add(
                "drbd_resources",
                f"drbd_resources.{name}.backing_volume",
                res.backing_volume,
                "must name a volume in logical_volumes",
            )
        elif backing.role != "drbd":
            add(
                "drbd_resources",
                f"drbd_resources.{name}.backing_volume",
                res.backing_volume,
                f"the volume has role '{backing.role}'; a DRBD backing volume needs role 'drbd'",
            )

    for name, ocfs2 in config.ocfs2_volumes.items():
        if ocfs2.drbd_resource not in resources:
            add(
                "ocfs2_volumes",
                f"ocfs2_volumes.{name}.drbd_resource",
                ocfs2.drbd_resource,
                f"must name a DRBD resource ({', '.join(sorted(resources))})",
            )
        if ocfs2.slots < len(config.nodes):
            add("ocfs2_volumes", f"ocfs2_volumes.{name}.slots", ocfs2.slots, "needs at least one slot per node")
        backing_volume = resources[ocfs2.drbd_resource].backing_volume if ocfs2.drbd_resource in resources else None
        backing = volumes.get(backing_volume) if backing_volume else None
        if ocfs2.fs_type == "vmstore" and backing is not None and parse_size(backing.size) < VMSTORE_MINIMUM_BACKING:
            add(
                "logical_volumes",
                f"logical_volumes.{backing_volume}.size",
                backing.size,
                f"ocfs2_volumes.{name} uses -T vmstore, which needs a device of at least 2 GiB; "
                "with DRBD's metadata the backing volume must be at least 2112M",
            )


def _check_paths(config: StorageConfig, add: AddProblem) -> None:
    """Public links inside the volumes, and exports of replicated data only."""
    mounts = config.volume_mounts
    for i, link in enumerate(config.public_links):
        if not any(is_under(link.target, mount) and link.target != mount for mount in mounts):
            add(
                "public_links",
                f"public_links.{i}.target",
                link.target,
                "must lie inside a configured volume's mount point",
            )
        if link.path in mounts:
            add("public_links", f"public_links.{i}.path", link.path, "is a volume's mount point")

    exported = config.exported_volume_mounts
    for i, export in enumerate(config.nfs_exports):
        real = config.resolve_public_path(export.path)
        if not any(is_under(real, mount) for mount in exported):
            add(
                "nfs_exports",
                f"nfs_exports.{i}.path",
                export.path,
                f"resolves to {real}, which is not under a replicated volume "
                f"({', '.join(sorted(exported))}); unreplicated data is not exported",
            )


def _check_names(config: StorageConfig, add: AddProblem) -> None:
    """unison's volume and client, and the names /etc/hosts gets besides the nodes."""
    unison = config.unison
    unison_volume = config.logical_volumes.get(unison.volume)
    if unison_volume is None:
        add("unison", "unison.volume", unison.volume, "must name a volume in logical_volumes")
    elif unison_volume.role != "unison":
        add(
            "unison",
            "unison.volume",
            unison.volume,
            f"the volume has role '{unison_volume.role}'; "
            "unison keeps only a volume with role 'unison' (never a DRBD-backed one)",
        )
    if unison.client not in config.node_names:
        add("unison", "unison.client", unison.client, "must name one of this pair's nodes")

    for name in config.extra_hosts:
        if name in config.node_names or name == "localhost":
            add(
                "extra_hosts",
                f"extra_hosts.{name}",
                name,
                "already in /etc/hosts (localhost and the pair's nodes are written from nodes)",
            )


def pair_problems(config: StorageConfig, view: HostView, storage_hosts: dict[str, StorageConfig]) -> list[Problem]:
    """Rules that relate several objects of one storage pair's configuration."""
    problems: list[Problem] = []
    src = view.source

    def add(key: str, field_path: str, value: Any, rule: str) -> None:
        problems.append(Problem(src(key), field_path, _short(value), rule))

    _check_fencing(config, add)
    for items, rule in _unique_values(config):
        for value, names in _duplicates(items).items():
            add(names[-1].split(".")[0], names[-1], value, f"{rule} (also {names[0]})")
    _check_nodes(config, view, storage_hosts, add)
    _check_one_run_switches(config, src, add)
    _check_references(config, add)
    _check_paths(config, add)
    _check_names(config, add)
    return problems


# --- the whole inventory ------------------------------------------------------------------


def validate(views: list[HostView]) -> list[Problem]:
    """Every problem of the configuration, for all hosts and pairs."""
    problems: list[Problem] = []
    storage: dict[str, StorageConfig] = {}
    storage_views = [view for view in views if STORAGE_GROUP in view.groups]
    site_configs: dict[str, SiteConfig] = {}

    for view in views:
        problems += _unknown_keys(view)
        site, found = _model_problems(view, SiteConfig, SITE_KEYS)
        problems += found
        if site is not None:
            site_configs[view.name] = site
    for view in storage_views:
        config, found = _model_problems(view, StorageConfig, STORAGE_KEYS)
        problems += found
        if config is not None:
            storage[view.name] = config
    for view in storage_views:
        if view.name in storage:
            problems += pair_problems(storage[view.name], view, storage)

    pairs: dict[tuple[str, ...], list[str]] = defaultdict(list)
    for name, config in storage.items():
        pairs[tuple(node.name for node in config.nodes)].append(name)
    for names in pairs.values():
        first = storage[names[0]]
        for other in names[1:]:
            differing = [
                key for key in StorageConfig.model_fields if getattr(first, key) != getattr(storage[other], key)
            ]
            view = next(v for v in storage_views if v.name == other)
            for key in differing:
                problems.append(
                    Problem(
                        view.source(key),
                        key,
                        f"(on {other})",
                        f"both nodes of a pair need the same {key} (differs from {names[0]})",
                    )
                )

    exports = [
        (config, config.resolve_public_path(export.path), export.path)
        for config in storage.values()
        for export in config.nfs_exports
    ]
    node_names = {node.name for config in storage.values() for node in config.nodes}
    node_addresses = {str(node.lan_address) for config in storage.values() for node in config.nodes}
    nis_maps: set[str] = set()
    for view in views:
        if NIS_SERVER_GROUP not in view.groups:
            continue
        nis, found = _model_problems(view, NisServerConfig, NIS_SERVER_KEYS)
        problems += found
        if nis is None:
            continue
        nis_maps |= set(nis.automount_maps)
        if len(storage) < len(storage_views):
            # A pair whose own configuration is invalid has no exports to check the maps against:
            # its problems are listed, and the maps are checked once it is valid.
            continue
        domain = site_configs[view.name].domain if view.name in site_configs else ""
        for map_name, entries in nis.automount_maps.items():
            for key, entry in entries.items():
                where = f"automount_maps.{map_name}.{key}"
                if not any(is_under(entry.path, public) for _, _, public in exports):
                    problems.append(
                        Problem(
                            view.source("automount_maps"),
                            f"{where}.path",
                            _short(entry.path),
                            "must lie under one of the storage pairs' NFS exports",
                        )
                    )
                for i, server in enumerate(entry.servers):
                    short_name = server.removesuffix(f".{domain}") if domain else server
                    if short_name not in node_names and server not in node_addresses:
                        problems.append(
                            Problem(
                                view.source("automount_maps"),
                                f"{where}.servers.{i}",
                                _short(server),
                                "must name a storage node (optionally with the domain) or its LAN address",
                            )
                        )
    for view in views:
        if NFS_CLIENT_GROUP not in view.groups:
            continue
        client, found = _model_problems(view, NfsClientConfig, NFS_CLIENT_KEYS)
        problems += found
        if client is None:
            continue
        for point, map_name in client.automount_points.items():
            if nis_maps and map_name not in nis_maps:
                problems.append(
                    Problem(
                        view.source("automount_points"),
                        f"automount_points.{point}",
                        _short(map_name),
                        f"no NIS server serves this map ({', '.join(sorted(nis_maps))})",
                    )
                )
    return sorted(set(problems))


def check_inventory_files(inventory_file: str, groups: dict[str, Any]) -> None:
    """Called by inventory.py: validate, or print every problem and stop before connecting."""
    stop(validate(views_from_files(inventory_file, groups)))


_checked_inventories: set[int] = set()
M = TypeVar("M", bound=BaseModel)


def check_deploy_inventory(inventory: Any) -> None:
    """Called by deploy.py (once per process): the same rules over pyinfra's inventory."""
    if id(inventory) in _checked_inventories:
        return
    stop(validate(views_from_inventory(inventory)))
    _checked_inventories.add(id(inventory))


def config_of(host: Any, model: type[M]) -> M:
    """A host's validated configuration of one kind (deploy time), from its data: computed once
    per host and kind, since validation reads files (secrets) and the data does not change."""
    configs: dict[type[BaseModel], BaseModel] = host.__dict__.setdefault("_twinstore_configs", {})
    if model not in configs:
        configs[model] = model.model_validate(
            {key: value for key in model.model_fields if (value := host.data.get(key)) is not None}
        )
    config = configs[model]
    assert isinstance(config, model)
    return config


def storage_config(host: Any) -> StorageConfig:
    """The validated StorageConfig of a storage host (deploy time)."""
    return config_of(host, StorageConfig)


def site_config(host: Any) -> SiteConfig:
    """The validated SiteConfig every host shares (deploy time)."""
    return config_of(host, SiteConfig)


def nis_server_config(host: Any) -> NisServerConfig:
    """The validated NisServerConfig of a host in the nis_servers group (deploy time)."""
    return config_of(host, NisServerConfig)


def nfs_client_config(host: Any) -> NfsClientConfig:
    """The validated NfsClientConfig of a host in the nfs_clients group (deploy time)."""
    return config_of(host, NfsClientConfig)


__all__ = [
    "ConfigurationError",
    "HostView",
    "IPv4Address",
    "Problem",
    "check_deploy_inventory",
    "check_inventory_files",
    "storage_config",
    "validate",
]
