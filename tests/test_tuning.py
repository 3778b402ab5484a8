"""The sysctl file rendered from the configuration."""

from __future__ import annotations

from jinja2 import Template

from operations.tuning import TEMPLATES
from tests.helpers import storage_value


def test_sysctl_file_has_the_procedures_values() -> None:
    rendered = Template((TEMPLATES / "sysctl.conf.j2").read_text(), trim_blocks=True).render(
        sysctls=storage_value("sysctls")
    )
    lines = [line for line in rendered.splitlines() if line and not line.startswith("#")]
    assert lines == ["vm.min_free_kbytes = 65536", "kernel.panic = 10", "kernel.panic_on_oops = 1"]
