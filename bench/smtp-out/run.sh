#!/bin/sh
# Outbound benchmark (issue 14): tern's queue vs Postfix's qmgr + smtp client, both sending
# queued mail to Postfix's smtp-sink, interleaved A B B A.
# Run as root by hand (never from ctest): bench/smtp-out/run.sh [--reps 6] [--messages 2000]
# Every server it starts is stopped when it ends (Ctrl-C included).
exec /usr/bin/python3 "$(dirname "$0")/outbound_bench.py" "$@"
