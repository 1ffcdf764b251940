"""SMTP delivery benchmark: tern-mta vs private Postfix -> Dovecot LMTP (issue 4).

Load: `smtp-source -d -m 2000 -s 10 -l 4096` (2,000 messages of 4 KiB, 10 sessions kept
open, one local recipient). The clock starts before smtp-source and stops when all 2,000 are
in the mailbox (peer: Maildir new+cur count, polled every 10 ms; tern: `ternctl user list`
once smtp-source has returned, since tern answers 250 only after the store commit). Each
repetition starts fresh servers with an empty mailbox, warms them with 50 messages to another
mailbox, then measures. Repetitions interleave A B B A; medians and tern/peer ratios.
Server CPU: the whole process tree (benchlib.tree_cpu_seconds), before/after the load.
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import benchlib  # noqa: E402
from benchlib import DOMAIN, log, median  # noqa: E402

USER, WARM = f"user@{DOMAIN}", f"warm@{DOMAIN}"


def wait_count(side, email, target, timeout, interval):
    deadline = time.monotonic() + timeout
    while True:
        n = side.mailbox_count(email)
        if n >= target:
            return n
        if time.monotonic() > deadline:
            raise TimeoutError(f"{side.name}: {n}/{target} messages in {email} after {timeout}s")
        time.sleep(interval)


def one_rep(side_cls, users, args):
    side = side_cls(users)
    try:
        side.start()
        poll = 0.01 if side.name == "peer" else 0.05
        benchlib.run_smtp_source(side.smtp_port, args.warmup, args.sessions, args.size, WARM)
        wait_count(side, WARM, args.warmup, 60, poll)
        load = open("/proc/loadavg").read().split()[0]
        cpu0 = side.cpu_seconds()
        t0 = time.monotonic()
        benchlib.run_smtp_source(side.smtp_port, args.messages, args.sessions, args.size, USER)
        t_acc = time.monotonic()
        n = wait_count(side, USER, args.messages, 300, poll)
        t1 = time.monotonic()
        cpu1 = side.cpu_seconds()
        if n != args.messages:
            raise RuntimeError(f"{side.name}: {n} messages in the mailbox, expected {args.messages}")
        return {"side": side.name, "delivered_per_s": args.messages / (t1 - t0),
                "accepted_per_s": args.messages / (t_acc - t0), "seconds": t1 - t0,
                "cpu_s": cpu1 - cpu0, "cpu_ms_per_msg": (cpu1 - cpu0) * 1000 / args.messages,
                "load1": load}
    finally:
        side.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=6, help="repetitions of each side (>= 5)")
    ap.add_argument("--messages", type=int, default=2000)
    ap.add_argument("--sessions", type=int, default=10)
    ap.add_argument("--size", type=int, default=4096)
    ap.add_argument("--warmup", type=int, default=50)
    ap.add_argument("--sides", default="auto",
                    help="auto (tern+peer if tern is built, else peer), peer, tern+peer, peer+peer")
    args = ap.parse_args()
    benchlib.install_signal_exit()

    sides = args.sides
    if sides == "auto":
        sides = "tern+peer" if benchlib.Tern.available(("tern-mta",)) else "peer"
        if sides == "peer":
            log("tern-mta or ternctl missing (build/bin, build-bench/bin): measuring the peer only")
    classes = {"peer": benchlib.Peers,
               "tern": lambda users: benchlib.Tern(users, daemons=("tern-mta",))}
    names = sides.split("+")
    a = classes[names[0]]
    b = classes[names[1]] if len(names) > 1 else None
    users = benchlib.make_users(["user", "warm"])

    order = benchlib.abba(args.reps) if b else ["A"] * args.reps
    results = {"A": [], "B": []}
    print(f"# smtp bench: {args.messages} msgs x {args.size} B, {args.sessions} sessions; "
          f"order {' '.join(order)}  (A={names[0]}{', B=' + names[1] if b else ''})", flush=True)
    for i, letter in enumerate(order):
        r = one_rep(a if letter == "A" else b, users, args)
        results[letter].append(r)
        print(f"rep {i + 1:2d} {letter}={r['side']:4s} delivered {r['delivered_per_s']:7.1f} msg/s"
              f"  accepted {r['accepted_per_s']:7.1f} msg/s  {r['seconds']:6.2f} s"
              f"  server CPU {r['cpu_s']:6.2f} s = {r['cpu_ms_per_msg']:5.2f} ms/msg"
              f"  load1 {r['load1']}", flush=True)

    def med(letter, key):
        return median([r[key] for r in results[letter]])

    print()
    print("| side | delivered msgs/s (median) | accepted msgs/s | server CPU ms/msg | reps |")
    print("|---|---|---|---|---|")
    for letter, name in (("A", names[0]), ("B", names[1] if b else None)):
        if name:
            print(f"| {name} ({letter}) | {med(letter, 'delivered_per_s'):.0f} | "
                  f"{med(letter, 'accepted_per_s'):.0f} | {med(letter, 'cpu_ms_per_msg'):.2f} | "
                  f"{len(results[letter])} |")
    if b:
        ratio = med("A", "delivered_per_s") / med("B", "delivered_per_s")
        cpu_ratio = med("B", "cpu_ms_per_msg") / med("A", "cpu_ms_per_msg")
        print(f"\nratio {names[0]}/{names[1]} delivered msgs/s: {ratio:.2f}; "
              f"CPU per message {names[1]}/{names[0]}: {cpu_ratio:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
