"""`--version` on every tern binary: one line "NAME VERSION (git COMMIT)", exit 0, where
VERSION is project(VERSION) in CMakeLists.txt and COMMIT names a commit of this tree."""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ternlib import BIN, run_tests  # noqa: E402

SRC = os.environ.get("TERN_SRC", os.path.join(os.path.dirname(__file__), "..", ".."))
# Every installed binary; the ones not built in this tree are skipped.
BINARIES = ["tern", "tern-mta", "tern-pop3d", "tern-imapd", "tern-web", "ternctl"]


def project_version():
    with open(os.path.join(SRC, "CMakeLists.txt")) as f:
        m = re.search(r"project\(tern VERSION ([0-9.]+)", f.read())
    assert m, "no project(tern VERSION ...) in CMakeLists.txt"
    return m.group(1)


def test_every_binary_prints_version_and_commit():
    version = project_version()
    in_git = subprocess.run(["git", "-C", SRC, "rev-parse", "HEAD"], capture_output=True).returncode == 0
    found = [b for b in BINARIES if os.access(os.path.join(BIN, b), os.X_OK)]
    assert {"tern", "tern-mta", "tern-pop3d", "ternctl"} <= set(found), found
    for name in found:
        r = subprocess.run([os.path.join(BIN, name), "--version"], capture_output=True, text=True, timeout=20)
        assert r.returncode == 0, (name, r.returncode, r.stderr)
        m = re.fullmatch(re.escape(name) + r" (\S+) \(git ([0-9a-f]{12}|unknown)\)\n", r.stdout)
        assert m, (name, r.stdout)
        assert m.group(1) == version, (name, m.group(1), version)
        if in_git:
            commit = m.group(2)
            assert commit != "unknown", name
            ok = subprocess.run(["git", "-C", SRC, "cat-file", "-e", commit + "^{commit}"], capture_output=True)
            assert ok.returncode == 0, f"{name}: {commit} is not a commit of {SRC}"


def test_version_wins_over_other_arguments():
    # `ternctl --config X --version` and `tern --version` need no config, store or root.
    r = subprocess.run([os.path.join(BIN, "ternctl"), "--config", "/nonexistent.toml", "--version"],
                       capture_output=True, text=True, timeout=20)
    assert r.returncode == 0 and r.stdout.startswith("ternctl "), (r.returncode, r.stdout, r.stderr)


if __name__ == "__main__":
    run_tests([test_every_binary_prints_version_and_commit, test_version_wins_over_other_arguments])
