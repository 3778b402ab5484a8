"""twinstore health report. Run: pyinfra inventory.py status.py

Prints one table per storage pair (DRBD, o2cb, volumes and free space, exports, last unison
sync) and exits non-zero when a pair is not healthy, so it can run from cron or a
monitoring check. It reads and changes nothing else.
"""

from pyinfra import host, inventory

from operations.health import report_health
from twinstore import fact_cache
from twinstore.validation import STORAGE_GROUP, check_deploy_inventory, site_config, storage_config

fact_cache.install()
check_deploy_inventory(inventory)

if STORAGE_GROUP in host.groups:
    report_health(config=storage_config(host), site=site_config(host))
