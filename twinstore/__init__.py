"""twinstore: a two-node replicated storage server (LVM, DRBD, OCFS2, NFS) built with pyinfra."""
