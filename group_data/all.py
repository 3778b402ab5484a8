"""Values every host shares: the site's DNS/NIS domain, the NIS server and the LAN."""

domain = "pasta.net"
nis_domain = "pasta.net"
# The NIS master; NFS clients bind to it (yp.conf).
nis_server = "192.168.1.10"
# What each storage node copies from the master to serve itself (it binds to itself: yp.conf
# "server localhost"), so its lookups never wait on the master: the accounts and the automount
# maps of group_data/nis_servers.py.
nis_maps = [
    "passwd.byname",
    "passwd.byuid",
    "group.byname",
    "group.bygid",
    "netid.byname",
    "auto.home",
    "auto.staging",
]
# NFS exports default to this network instead of the procedure's "*".
client_network = "192.168.1.0/24"
# No trust on first use: pyinfra connects only to a machine whose host key is already in
# ~/.ssh/known_hosts (README, "Using it on real machines": pin each key before the first run).
# The unison key each storage node pins for its peer comes from this connection.
ssh_strict_host_key_checking = "yes"
