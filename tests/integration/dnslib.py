"""A loopback DNS server for tests: dnsmasq (Debian's dnsmasq-base) answering only from
the records given, authoritative for the listed zones (other names in them are NXDOMAIN,
other types NODATA). Started on a free UDP/TCP port; stop() ends it."""
import os
import socket
import subprocess
import time

from ternlib import free_port


def txt_strings(value):
    """dnsmasq --txt-record: each comma starts a character-string (255 octets max)."""
    parts = [value[i:i + 255] for i in range(0, len(value), 255)] or [""]
    for p in parts:
        assert "," not in p, "a TXT value with a comma cannot be served by dnsmasq"
    return ",".join(parts)


class DnsServer:
    def __init__(self, workdir, zones, txt=(), a=(), mx=(), ptr=()):
        """zones: domains answered locally; txt/a: (name, value); mx: (name, host, pref);
        ptr: (ip, name)."""
        self.port = free_port()
        args = ["dnsmasq", "--no-daemon", f"--port={self.port}", "--listen-address=127.0.0.1",
                "--bind-interfaces", "--no-resolv", "--no-hosts", "--conf-file=/dev/null",
                "--no-negcache", f"--pid-file={os.path.join(workdir, 'dnsmasq.pid')}"]
        args += [f"--local=/{z}/" for z in zones]
        args += [f"--txt-record={n},{txt_strings(v)}" for n, v in txt]
        args += [f"--host-record={n},{ip}" for n, ip in a]
        args += [f"--mx-host={n},{h},{p}" for n, h, p in mx]
        args += [f"--ptr-record={self.reverse(ip)},{n}" for ip, n in ptr]
        self.log = open(os.path.join(workdir, "dnsmasq.log"), "ab")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + 10
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("dnsmasq exited; see dnsmasq.log")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("dnsmasq did not start")

    @staticmethod
    def reverse(ip):
        return ".".join(reversed(ip.split("."))) + ".in-addr.arpa"

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
