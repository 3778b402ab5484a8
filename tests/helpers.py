"""Shared helpers for unit tests: the real configuration as host views, and a fake pyinfra host."""

from __future__ import annotations

import copy
import dataclasses
import os
import tempfile
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from facts.drbd import DrbdResourceState
from twinstore.config import SITE_KEYS, STORAGE_KEYS, SiteConfig, StorageConfig
from twinstore.validation import HostView, Problem, validate, views_from_files

ROOT = Path(__file__).resolve().parent.parent
GROUPS: dict[str, Any] = {
    "storage": ["fiori", "torchio"],
    "nis_servers": ["rotini"],
    "nfs_clients": ["chifferi"],
}


def secret_file_for_tests(name: str = "drbd-secret", content: str = "unit-test-secret-of-twinstore-pair\n") -> Path:
    """A secret file as a site keeps one (outside the repository, mode 0600) for the unit tests."""
    directory = Path(tempfile.gettempdir()) / f"twinstore-tests-{os.getuid()}"
    directory.mkdir(mode=0o700, exist_ok=True)
    path = directory / name
    # Replaced in one step: the suite's workers write and read it at the same time.
    temporary = directory / f".{name}.{os.getpid()}"
    temporary.write_text(content)
    temporary.chmod(0o600)
    os.replace(temporary, path)
    return path


def real_views(inventory: Path = ROOT / "inventory.py", groups: dict[str, Any] | None = None) -> list[HostView]:
    """The views of an inventory's files; outside the lab (which makes its own), the secret file
    a site keeps on its controller replaced by a test file."""
    views = views_from_files(str(inventory), groups or GROUPS, cwd=str(ROOT))
    if not inventory.is_relative_to(ROOT / "lab"):
        secret = str(secret_file_for_tests())
        password = str(secret_file_for_tests("bmc-password", "unit-test-bmc-password\n"))
        for view in views:
            if "drbd_options" in view.data:
                view.data["drbd_options"] = {**view.data["drbd_options"], "shared_secret_file": secret}
            if "nodes" in view.data:
                view.data["nodes"] = [
                    {**node, "fence": {**node["fence"], "password_file": password}} if node.get("fence") else node
                    for node in view.data["nodes"]
                ]
    return views


def real_nodes_with_test_passwords() -> list[dict[str, Any]]:
    """The real group_data's nodes, each BMC password file replaced by a test file."""
    fiori = next(v for v in real_views() if v.name == "fiori")
    return copy.deepcopy(fiori.data["nodes"])


def with_storage(key: str, value: Any, hosts: tuple[str, ...] = ("fiori", "torchio")) -> list[Problem]:
    """Problems of the real configuration with one storage key replaced on the given hosts."""
    views = real_views()
    for view in views:
        if view.name in hosts:
            view.data[key] = copy.deepcopy(value)
    return validate(views)


LAB_GROUPS: dict[str, Any] = {"storage": ["fiori", "torchio"], "nis_servers": ["client"], "nfs_clients": ["client"]}


def lab_storage_value(key: str) -> Any:
    """A storage value as the lab's inventory gives it to fiori (lab/group_data over group_data)."""
    view = next(v for v in real_views(ROOT / "lab" / "inventory.py", LAB_GROUPS) if v.name == "fiori")
    return copy.deepcopy(view.data.get(key))


def without_fencing() -> StorageConfig:
    """The real configuration with no fence device, the risk named (dual_primary_without_fencing)."""
    nodes = [node.model_dump() | {"fence": None} for node in real_storage_config().nodes]
    return real_storage_config(nodes=nodes, dual_primary_without_fencing=True)


def lab_storage_config() -> StorageConfig:
    """fiori's StorageConfig as the lab's inventory gives it."""
    view = next(v for v in real_views(ROOT / "lab" / "inventory.py", LAB_GROUPS) if v.name == "fiori")
    return StorageConfig.model_validate(
        {key: value for key in STORAGE_KEYS if (value := view.data.get(key)) is not None}
    )


def render_template(path: Path, **values: Any) -> str:
    """A template rendered as files.template renders it (pyinfra's own Jinja2 environment)."""
    from pyinfra.api.util import get_template

    from twinstore.templating import jinja_env_kwargs

    return get_template(str(path), jinja_env_kwargs()).render(**values)


def storage_value(key: str) -> Any:
    view = next(v for v in real_views() if v.name == "fiori")
    return copy.deepcopy(view.data[key])


def real_storage_config(**changes: Any) -> StorageConfig:
    """fiori's StorageConfig from the real group_data, with some values replaced."""
    view = next(v for v in real_views() if v.name == "fiori")
    data = {key: value for key in STORAGE_KEYS if (value := view.data.get(key)) is not None}
    return StorageConfig.model_validate({**copy.deepcopy(data), **changes})


def real_site_config() -> SiteConfig:
    """fiori's SiteConfig from the real group_data."""
    view = next(v for v in real_views() if v.name == "fiori")
    return SiteConfig.model_validate({key: value for key in SITE_KEYS if (value := view.data.get(key)) is not None})


class FakeOperationMeta:
    """An earlier operation's result, as OperationMeta exposes it once it ran."""

    def __init__(self, changed: bool) -> None:
        self.changed = changed

    def is_complete(self) -> bool:
        return True

    def did_change(self) -> bool:
        return self.changed


class FakeHost:
    """Just enough of pyinfra's Host for an operation's generator: facts by class, noops and logs recorded."""

    def __init__(self, facts: dict[type, Any], name: str = "fiori") -> None:
        self.facts = facts
        self.name = name
        self.noops: list[str] = []
        self.logs: list[str] = []

    def get_fact(self, fact: type, *args: Any, **kwargs: Any) -> Any:
        return self.facts[fact]

    def noop(self, message: str) -> None:
        self.noops.append(message)

    def log(self, message: str, log_func: Any = None) -> None:
        self.logs.append(message)


def drbd_resource(name: str, minor: int, **changes: object) -> DrbdResourceState:
    """A DRBD resource as the fact reads it on a healthy pair (Connected, both Primary and UpToDate), changed."""
    healthy = DrbdResourceState(
        name=name,
        minor=minor,
        module_loaded=True,
        configured=True,
        connection="Connected",
        role="Primary",
        peer_role="Primary",
        disk="UpToDate",
        peer_disk="UpToDate",
    )
    return dataclasses.replace(healthy, **changes)  # type: ignore[arg-type]


Samples = dict[str, dict[str, float]]


def metric_samples(text: str) -> Samples:
    """Prometheus text as a test compares it: sample name -> {"label=value,...": value}."""
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            key = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            samples.setdefault(sample.name, {})[key] = sample.value
    return samples
