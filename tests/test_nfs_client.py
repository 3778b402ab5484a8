"""The NFS clients' automount points, rendered as the deploy renders them."""

from __future__ import annotations

from operations.nfs_client import TEMPLATES
from tests.helpers import render_template


def test_clients_mount_each_point_from_its_nis_map() -> None:
    points = {"/staging": "auto.staging", "/home": "auto.home"}
    text = render_template(TEMPLATES / "twinstore.autofs.j2", points=points)
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert lines == ["/staging\typ:auto.staging", "/home\typ:auto.home"]
