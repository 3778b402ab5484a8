# Fails while I/O on a DRBD resource is frozen (frozen.sh runs first): a read of a volume on it
# would wait until I/O resumes.
[ -z "$frozen" ]
