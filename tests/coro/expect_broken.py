"""Runs a reproducer built with -DTERN_CORO_BROKEN and checks that the compiler bug the
rule is about still shows: the program must die (signal, or ASan's non-zero exit) and
its output must contain the expected signature.

usage: expect_broken.py BINARY SIGNATURE
  SIGNATURE: a substring of the ASan report ("attempting double-free"), or "signal"
  for death by a signal (SIGILL on a resumed frame, ...)."""
import os
import subprocess
import sys


def main():
    binary, signature = sys.argv[1], sys.argv[2]
    env = dict(os.environ)
    env["ASAN_OPTIONS"] = "detect_leaks=0:abort_on_error=0"
    p = subprocess.run([binary], capture_output=True, text=True, timeout=120, env=env)
    out = p.stdout + p.stderr
    first = next((l for l in out.splitlines() if "ERROR: AddressSanitizer" in l), "")
    print(f"{os.path.basename(binary)}: exit {p.returncode} {first}".rstrip())
    if p.returncode == 0:
        print("the broken pattern ran clean: the bug no longer reproduces with this "
              "compiler; the rule may be dropped (see common/include/tern/net/asio.hpp)")
        return 1
    if signature == "signal":
        if p.returncode >= 0:
            print(out[-4000:])
            print("expected death by a signal")
            return 1
    elif signature not in out:
        print(out[-4000:])
        print(f"expected {signature!r} in the output")
        return 1
    print("reproduced")
    return 0


if __name__ == "__main__":
    sys.exit(main())
