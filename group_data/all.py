"""Values every host shares: the site's DNS/NIS domain, the NIS server and the LAN."""

domain = "pasta.net"
nis_domain = "pasta.net"
# The NIS master; NFS clients bind to it (yp.conf).
nis_server = "192.168.1.10"
# NFS exports default to this network instead of the procedure's "*".
client_network = "192.168.1.0/24"
