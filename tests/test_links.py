"""Public paths under /vol: links made, empty directories replaced, content never replaced."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace

import pytest
from pyinfra.api import OperationError
from pyinfra.context import ctx_host, ctx_state

from facts.links import PublicPath, PublicPaths
from operations.links import public_link
from tests.helpers import FakeHost, real_views
from twinstore.config import StorageConfig

PATH, TARGET, VOLUME = "/vol/home", "/vol/ocfs2-small/home", "/vol/ocfs2-small"
OUTPUT = [
    "#twinstore-section /vol/home",
    "LINK=/vol/ocfs2-small/home",
    "TARGET=directory",
    "VOLUME_MOUNTED=1",
    "#twinstore-section /vol/mail",
    "KIND=empty_directory",
    "VOLUME_MOUNTED=1",
    "#twinstore-section /vol/svn",
    "KIND=directory",
    "TARGET=directory",
    "#twinstore-section /vol/vmpool1",
]


@pytest.fixture(autouse=True)
def planning() -> Iterator[None]:
    with ctx_state.use(SimpleNamespace(is_executing=False)):
        yield


def test_fact_reads_links_directories_targets_and_mounts() -> None:
    paths = PublicPaths().process(OUTPUT)
    assert paths["/vol/home"] == PublicPath("/vol/home", "link", "/vol/ocfs2-small/home", "directory", True)
    assert paths["/vol/mail"] == PublicPath("/vol/mail", "empty_directory", None, "missing", True)
    assert paths["/vol/svn"].kind == "directory" and not paths["/vol/svn"].volume_mounted
    assert paths["/vol/vmpool1"] == PublicPath("/vol/vmpool1")


def commands(state: PublicPath) -> tuple[list[str], FakeHost]:
    host = FakeHost({PublicPaths: {PATH: state}})
    with ctx_host.use(host):
        return [c.get_raw_value() for c in public_link._inner(path=PATH, target=TARGET, volume=VOLUME)], host


def test_new_link_and_its_target_on_a_mounted_volume() -> None:
    assert commands(PublicPath(PATH, volume_mounted=True))[0] == [f"mkdir -p {TARGET}", f"ln -sfn {TARGET} {PATH}"]


def test_target_not_created_while_its_volume_is_unmounted() -> None:
    # It would land on the root file system, hidden under the mount point later.
    assert commands(PublicPath(PATH))[0] == [f"ln -sfn {TARGET} {PATH}"]


def test_correct_link_is_left_alone() -> None:
    found, host = commands(PublicPath(PATH, "link", TARGET, "directory", True))
    assert found == [] and host.noops == [f"{PATH} -> {TARGET}"]


def test_link_pointing_elsewhere_is_repointed() -> None:
    assert commands(PublicPath(PATH, "link", "/srv/old", "directory", True))[0] == [f"ln -sfn {TARGET} {PATH}"]


def test_empty_directory_becomes_the_link() -> None:
    found, _ = commands(PublicPath(PATH, "empty_directory", None, "directory", True))
    assert found == [f"rmdir {PATH}", f"ln -sfn {TARGET} {PATH}"]


def test_directory_with_content_or_a_file_is_never_replaced() -> None:
    with pytest.raises(OperationError, match="is a directory with content; refusing to replace it"):
        commands(PublicPath(PATH, "directory", None, "directory", True))
    with pytest.raises(OperationError, match="is not a link or a directory"):
        commands(PublicPath(PATH, "other", None, "directory", True))
    with pytest.raises(OperationError, match="exists and is not a directory"):
        commands(PublicPath(PATH, "missing", None, "other", True))


def test_each_target_belongs_to_the_deepest_volume_holding_it() -> None:
    view = next(view for view in real_views() if view.name == "fiori")
    config = StorageConfig.model_validate({k: view.data[k] for k in StorageConfig.model_fields if k in view.data})
    volumes = {link.path: config.resolve_volume_mount(link.target) for link in config.public_links}
    assert volumes == {
        "/vol/scratch": "/vol/rep-no",
        "/vol/vmpool0": "/vol/rep-no",
        "/vol/pub": "/vol/rep-unison",
        "/vol/home": "/vol/ocfs2-small",
        "/vol/mail": "/vol/ocfs2-small",
        "/vol/wikis": "/vol/ocfs2-small",
        "/vol/svn": "/vol/ocfs2-small",
        "/vol/vmpool1": "/vol/ocfs2-large",
    }
