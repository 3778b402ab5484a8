"""The NIS master's automount maps, pointing at the storage pair's exports."""

_storage = ["fiori.pasta.net", "torchio.pasta.net"]
_options = ["-noquota", "noatime", "nodiratime", "nfsvers=3"]

automount_maps = {
    "auto.home": {
        "alexis": {"options": _options, "servers": _storage, "path": "/vol/home/alexis"},
    },
    "auto.staging": {
        "pub": {"options": _options, "servers": _storage, "path": "/vol/pub"},
    },
}
