#!/bin/sh
# POP3 benchmark (issue 8): tern-pop3d vs Dovecot POP3, interleaved A B B A.
# Run as root by hand (never from ctest): bench/pop3/run.sh [--rounds 10] [--sides tern+peer]
# Every server it starts is stopped when it ends (Ctrl-C included).
exec /usr/bin/python3 "$(dirname "$0")/pop3_bench.py" "$@"
