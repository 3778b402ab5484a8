"""The sysctl file rendered from the configuration."""

from __future__ import annotations

from operations.tuning import TEMPLATES
from tests.helpers import render_template, storage_value


def test_sysctl_file_has_the_procedures_values() -> None:
    rendered = render_template(TEMPLATES / "sysctl.conf.j2", sysctls=storage_value("sysctls"))
    lines = [line for line in rendered.splitlines() if line and not line.startswith("#")]
    assert lines == ["vm.min_free_kbytes = 65536", "kernel.panic = 10", "kernel.panic_on_oops = 1"]
