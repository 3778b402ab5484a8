echo "${section}drbd"
# Every resource the kernel knows, with the addresses it was brought up with; without the
# shared secret, which no fact may carry (pyinfra prints fact output with -v).
if [ -r /proc/drbd ]; then drbdsetup show 2>/dev/null | grep -v shared-secret; fi
echo "${section}addresses"
ip -o -4 addr show 2>/dev/null
true
