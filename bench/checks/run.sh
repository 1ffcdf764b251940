#!/bin/sh
# Inbound checks benchmark: tern-mta msgs/s with [checks] on and off, DNS answered by a
# loopback dnsmasq, every message DKIM-signed (python3-dkim) by a sender with SPF and
# DMARC records. Run by hand on a quiet machine (never from ctest):
#   bench/checks/run.sh [--messages 2000] [--connections 10] [--reps 3]
# Every process it starts is stopped when it ends.
exec /usr/bin/python3 "$(dirname "$0")/checks_bench.py" "$@"
