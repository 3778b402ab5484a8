"""The lab: three Debian 12 guests under qemu (fiori, torchio, client) to deploy onto.

``python -m lab up|down|reset|ssh NODE|status``. Everything lives under
``$TWINSTORE_LAB_DIR`` (default ``~/.cache/twinstore-lab``).
"""
