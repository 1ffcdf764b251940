"""POP3 download benchmark: tern-pop3d vs Dovecot's POP3 (issue 8).

Both servers get the same messages: `smtp-source` delivers 200 messages of 4 KiB to each of
20 users over SMTP (tern-mta / Postfix -> Dovecot LMTP -> Maildir); or, with `--fill copy`
(the default while tern-mta is not built), the peer gets them by SMTP and tern gets the very
bytes the peer stored (CRLF, as Dovecot serves them) through pop3d's tern-deliver tool. Then
rounds of the load: 20 users at once, each USER/PASS, LIST, RETR all 200, QUIT, run by
pop3_load.cpp (epoll, built into build-bench/bench by this script; `--client python` uses
pop3_load.py instead). One warm-up round per side, then rounds interleaved A B B A; RETR/s
medians, server CPU per RETR (whole process tree), the client's own CPU, tern/peer ratio.
"""
import argparse
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "common"))
sys.path.insert(0, HERE)
import benchlib  # noqa: E402
import pop3_load  # noqa: E402
from benchlib import DOMAIN, PASSWORD, log, median  # noqa: E402


CLIENT_SRC = os.path.join(HERE, "pop3_load.cpp")
CLIENT_BIN = os.path.join(benchlib.SRC, "build-bench", "bench", "pop3_load")


def build_client():
    """Compile the C++ load client into build-bench/bench when missing or older than its source."""
    if (os.path.exists(CLIENT_BIN)
            and os.path.getmtime(CLIENT_BIN) >= os.path.getmtime(CLIENT_SRC)):
        return
    os.makedirs(os.path.dirname(CLIENT_BIN), exist_ok=True)
    subprocess.run(["g++", "-O2", "-std=c++20", "-Wall", "-Wextra", "-o", CLIENT_BIN,
                    CLIENT_SRC], check=True)


def run_round_cpp(port, emails, password, expect):
    """(retrs, octets, wall_s, client_cpu_s) from one run of the C++ client."""
    p = subprocess.run([CLIENT_BIN, str(port), password, str(expect), *emails],
                       capture_output=True, text=True, timeout=330)
    if p.returncode != 0:
        raise RuntimeError(f"pop3_load failed: {p.stdout}{p.stderr}")
    kv = dict(item.split("=") for item in p.stdout.split())
    return (int(kv["retrs"]), int(kv["octets"]), float(kv["wall_s"]),
            float(kv["client_cpu_s"]))


def fill(side, users, per_user, size):
    for email, _ in users:
        benchlib.run_smtp_source(side.smtp_port, per_user, 10, size, email)
    deadline = time.monotonic() + 600
    for email, _ in users:
        while True:
            n = side.mailbox_count(email)
            if n == per_user:
                break
            if n > per_user or time.monotonic() > deadline:
                raise RuntimeError(f"{side.name}: {email} holds {n}, expected {per_user}")
            time.sleep(0.1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=10, help="measured rounds of each side")
    ap.add_argument("--users", type=int, default=20)
    ap.add_argument("--messages", type=int, default=200, help="per user")
    ap.add_argument("--size", type=int, default=4096)
    ap.add_argument("--sides", default="auto",
                    help="auto (tern+peer if tern is built, else peer), peer, tern+peer, peer+peer")
    ap.add_argument("--fill", choices=("auto", "smtp", "copy"), default="auto",
                    help="smtp: smtp-source into each side; copy: the peer by SMTP, tern gets "
                         "the peer's stored bytes via tern-deliver (auto: smtp if tern-mta is "
                         "built)")
    ap.add_argument("--client", choices=("cpp", "python"), default="cpp",
                    help="load client: pop3_load.cpp (epoll, default) or pop3_load.py (asyncio)")
    args = ap.parse_args()
    benchlib.install_signal_exit()
    if args.client == "cpp":
        build_client()
        run_round = run_round_cpp
    else:
        run_round = pop3_load.run_round

    sides = args.sides
    if sides == "auto":
        sides = "tern+peer" if benchlib.Tern.available(("tern-pop3d", "tern-deliver")) \
            or benchlib.Tern.available(("tern-mta", "tern-pop3d")) else "peer"
        if sides == "peer":
            log("tern-mta, tern-pop3d or ternctl missing (build/bin, build-bench/bin): "
                "measuring the peer only")
    names = sides.split("+")
    users = benchlib.make_users([f"u{i:02d}" for i in range(args.users)])
    emails = [e for e, _ in users]
    fill_mode = args.fill
    if fill_mode == "auto":
        fill_mode = "smtp" if benchlib.Tern.available(("tern-mta", "tern-pop3d")) else "copy"
    started = []
    try:
        side = {}
        for letter, name in zip("AB", names):
            if name == "tern":
                daemons = ("tern-mta", "tern-pop3d") if fill_mode == "smtp" else ("tern-pop3d",)
                s = benchlib.Tern(users, daemons=daemons)
            else:
                s = benchlib.Peers(users)
            started.append(s)
            s.start()
            side[letter] = s
        # peers first: in copy mode tern gets the very bytes the peer stored
        for letter in sorted(side, key=lambda x: side[x].name != "peer"):
            s = side[letter]
            t = time.monotonic()
            if s.name == "tern" and fill_mode == "copy":
                src = next(p for p in side.values() if p.name == "peer")
                log(f"{letter}=tern: copying the peer's {args.users} x {args.messages} "
                    f"messages with tern-deliver")
                from concurrent.futures import ThreadPoolExecutor
                jobs = [(email, data) for email in emails for data in src.maildir_messages(email)]
                with ThreadPoolExecutor(max_workers=8) as pool:   # one exec per message
                    list(pool.map(lambda j: s.deliver_file(*j), jobs))
            else:
                log(f"{letter}={s.name}: filling {args.users} x {args.messages} messages by SMTP")
                fill(s, users, args.messages, args.size)
            log(f"{letter}={s.name}: filled in {time.monotonic() - t:.1f} s")
        order = benchlib.abba(args.rounds) if len(names) > 1 else ["A"] * args.rounds
        expect = args.messages
        for letter in side:                      # warm-up: caches, Dovecot's indexes
            r = run_round(side[letter].pop3_port, emails, PASSWORD, expect)
            log(f"warm-up {letter}={side[letter].name}: {r[0] / r[2]:.0f} RETR/s")
        print(f"# pop3 bench: {args.users} users x {args.messages} msgs x {args.size} B; "
              f"client {args.client}; fill {fill_mode}; "
              f"order {' '.join(order)}  (A={names[0]}"
              f"{', B=' + names[1] if len(names) > 1 else ''})", flush=True)
        results = {"A": [], "B": []}
        for i, letter in enumerate(order):
            s = side[letter]
            load = open("/proc/loadavg").read().split()[0]
            cpu0 = s.cpu_seconds()
            retrs, octets, wall, client_cpu = run_round(s.pop3_port, emails, PASSWORD, expect)
            cpu = s.cpu_seconds() - cpu0
            r = {"retr_per_s": retrs / wall, "mib_per_s": octets / wall / 2**20,
                 "cpu_us_per_retr": cpu * 1e6 / retrs, "client_cpu_s": client_cpu,
                 "cpu_s": cpu, "wall": wall}
            results[letter].append(r)
            print(f"round {i + 1:2d} {letter}={s.name:4s} {r['retr_per_s']:8.0f} RETR/s"
                  f"  {r['mib_per_s']:6.1f} MiB/s  {wall:5.2f} s  server CPU {cpu:5.2f} s ="
                  f" {r['cpu_us_per_retr']:5.0f} us/RETR  client CPU {client_cpu:5.2f} s"
                  f"  load1 {load}", flush=True)

        def med(letter, key):
            return median([r[key] for r in results[letter]])
        print()
        print("| side | RETR/s (median) | MiB/s | server CPU us/RETR | client CPU s/round | rounds |")
        print("|---|---|---|---|---|---|")
        for letter, name in zip("AB", names):
            print(f"| {name} ({letter}) | {med(letter, 'retr_per_s'):.0f} | "
                  f"{med(letter, 'mib_per_s'):.1f} | {med(letter, 'cpu_us_per_retr'):.0f} | "
                  f"{med(letter, 'client_cpu_s'):.2f} | {len(results[letter])} |")
        if len(names) > 1:
            cpu_a = med("A", "cpu_us_per_retr")
            cpu_ratio = med("B", "cpu_us_per_retr") / cpu_a if cpu_a else float("nan")
            print(f"\nratio {names[0]}/{names[1]} RETR/s: "
                  f"{med('A', 'retr_per_s') / med('B', 'retr_per_s'):.2f}; CPU per RETR "
                  f"{names[1]}/{names[0]}: {cpu_ratio:.2f}")
    finally:
        for s in started:
            s.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
