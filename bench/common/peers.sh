#!/bin/sh
# Private Postfix + Dovecot on loopback for the benchmarks; see peers_cli.py for usage.
# Must run as root (Postfix and Dovecot drop privileges themselves). Everything it starts is
# stopped when it exits (normally, on error, or on SIGINT/SIGTERM/SIGHUP).
exec /usr/bin/python3 "$(dirname "$0")/peers_cli.py" "$@"
