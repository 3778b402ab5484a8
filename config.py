"""pyinfra's settings for every run from this directory (pyinfra reads config.py before the inventory).

A storage run fails as a whole: see twinstore/fail_percent.py.
"""

from pyinfra import config, state

from twinstore import fail_percent

# pyinfra then asks twinstore's rule after every failure instead of going on with the other hosts.
config.FAIL_PERCENT = 0
fail_percent.install(state)
