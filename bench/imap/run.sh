#!/bin/sh
# IMAP benchmarks (issue 17): tern-imapd vs Dovecot IMAP, interleaved A B B A.
# Run as root by hand (never from ctest):
#   bench/imap/run.sh mix   [--rounds 5] [--clients 20] [--secs 30] [--msgs 1000]
#   bench/imap/run.sh flags [--rounds 5] [--msgs 100000]
#   bench/imap/run.sh idle  [--conns 10000] [--peer-conns 1000]
# Every server it starts is stopped when it ends (Ctrl-C included).
exec /usr/bin/python3 "$(dirname "$0")/imap_bench.py" "$@"
