#!/bin/sh
# SMTP benchmark (issue 4): tern-mta vs Postfix -> Dovecot LMTP, interleaved A B B A.
# Run as root by hand (never from ctest): bench/smtp/run.sh [--reps 6] [--sides tern+peer]
# Every server it starts is stopped when it ends (Ctrl-C included).
exec /usr/bin/python3 "$(dirname "$0")/smtp_bench.py" "$@"
