"""ternctl dkim generate | list | rotate | del against a real store: the printed TXT
record is the exact zone line (strings of at most 255 octets), its p= is the key's
public half (openssl parses it; 2048-bit RSA by default, 32-byte Ed25519), list --json
shows both keys, rotate adds a new selector per algorithm, del removes one."""
import base64
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ternlib import TernEnv, run_tests  # noqa: E402

env = None


def txt_of(out):
    strings = re.findall(r'"([^"]*)"', out)
    assert strings and all(len(s) <= 255 for s in strings), out
    return "".join(strings)


def test_generate_rsa_and_ed25519():
    out = env.ctl("dkim", "generate", "example.test", "--selector", "s1").stdout
    assert "s1._domainkey.example.test. IN TXT (" in out, out
    txt = txt_of(out)
    assert txt.startswith("v=DKIM1; k=rsa; p="), txt
    der = base64.b64decode(txt.split("p=", 1)[1])
    info = subprocess.run(["openssl", "pkey", "-pubin", "-inform", "DER", "-noout", "-text"], input=der,
                          capture_output=True, check=True).stdout.decode()
    assert "2048 bit" in info, info[:200]
    out = env.ctl("dkim", "generate", "example.test", "--algo", "ed25519", "--selector", "e1").stdout
    txt = txt_of(out)
    assert txt.startswith("v=DKIM1; k=ed25519; p="), txt
    assert len(base64.b64decode(txt.split("p=", 1)[1])) == 32
    # Same selector again: refused; unknown domain: refused; bad algo: usage.
    assert env.ctl("dkim", "generate", "example.test", "--selector", "s1", check=False).returncode == 1
    assert env.ctl("dkim", "generate", "nowhere.test", check=False).returncode == 1
    assert env.ctl("dkim", "generate", "example.test", "--algo", "dsa", check=False).returncode == 64


def test_list_json_rotate_del():
    keys = json.loads(env.ctl("dkim", "list", "--json").stdout)
    assert sorted(k["selector"] for k in keys) == ["e1", "s1"], keys
    assert {k["algorithm"] for k in keys} == {"rsa", "ed25519"}
    assert all(k["dns_name"] == k["selector"] + "._domainkey.example.test" for k in keys)
    out = env.ctl("dkim", "rotate", "example.test").stdout
    assert out.count("._domainkey.example.test. IN TXT") == 2, out
    keys = json.loads(env.ctl("dkim", "list", "example.test", "--json").stdout)
    assert len(keys) == 4, keys
    env.ctl("dkim", "del", "example.test", "s1")
    keys = json.loads(env.ctl("dkim", "list", "--json").stdout)
    assert "s1" not in [k["selector"] for k in keys] and len(keys) == 3
    assert env.ctl("dkim", "del", "example.test", "s1", check=False).returncode == 1


if __name__ == "__main__":
    with TernEnv(listeners={}) as e:
        env = e
        env.ctl("domain", "add", "example.test")
        run_tests([test_generate_rsa_and_ed25519, test_list_json_rotate_del])
