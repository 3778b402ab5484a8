"""NFS clients: autofs mount points fed by NIS maps, and the procedure's /pub symlink."""

automount_points = {"/staging": "auto.staging", "/home": "auto.home"}
client_links = [{"path": "/pub", "target": "staging/pub"}]
