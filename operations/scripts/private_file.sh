# Creates empty file $1 readable by root alone: with umask 077 it never exists with wider permissions.
umask 077 && : > "$1"
