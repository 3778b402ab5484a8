"""The lab: three Debian guests under qemu (fiori, torchio, client) to deploy onto, on Debian 13
unless TWINSTORE_LAB_RELEASE=bookworm.

``python -m lab up|down|reset|ssh NODE|status``. Everything lives under
``$TWINSTORE_LAB_DIR`` (default ``~/.cache/twinstore-lab``).
"""
