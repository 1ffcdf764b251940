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
    def __init__(self, workdir, zones, txt=(), a=(), mx=(), ptr=(), ttl=None):
        """zones: domains answered locally; txt/a: (name, value); mx: (name, host, pref);
        ptr: (ip, name); ttl: of every answer (dnsmasq's default is 0: nothing cached)."""
        self.port = free_port()
        args = ["dnsmasq", "--no-daemon", f"--port={self.port}", "--listen-address=127.0.0.1",
                "--bind-interfaces", "--no-resolv", "--no-hosts", "--conf-file=/dev/null",
                "--no-negcache", f"--pid-file={os.path.join(workdir, 'dnsmasq.pid')}"]
        if ttl is not None:
            args += [f"--local-ttl={ttl}", f"--neg-ttl={ttl}"]
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


class DelayProxy:
    """A UDP DNS proxy in front of a DnsServer for timing tests: every answer is held
    `delay` seconds after its question arrived, each on its own timer (answers to
    concurrent questions overlap, as a slow but parallel resolver path would); questions
    for a name in `drop` (lower case, no final dot) are never answered, as a dead server.
    `asked` lists (monotonic time, name) of every question seen. stop() ends it."""

    def __init__(self, upstream_port, delay=0.0, drop=()):
        import threading
        self.upstream = upstream_port
        self.delay = delay
        self.drop = set(drop)
        self.asked = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.sock.settimeout(0.5)  # so stop() is seen
        self.closed = False
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @staticmethod
    def qname(packet):
        labels, pos = [], 12
        while pos < len(packet) and packet[pos] != 0:
            n = packet[pos]
            labels.append(packet[pos + 1:pos + 1 + n].decode("ascii", "replace"))
            pos += 1 + n
        return ".".join(labels).lower()

    def _serve(self):
        import threading
        while not self.closed:
            try:
                data, addr = self.sock.recvfrom(65535)
            except socket.timeout:
                continue
            except OSError:
                return
            arrived = time.monotonic()
            name = self.qname(data)
            with self.lock:
                self.asked.append((arrived, name))
            if name in self.drop:
                continue
            threading.Thread(target=self._answer, args=(data, addr, arrived), daemon=True).start()

    def _answer(self, data, addr, arrived):
        up = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        up.settimeout(5)
        try:
            up.sendto(data, ("127.0.0.1", self.upstream))
            answer = up.recv(65535)
        except OSError:
            return
        finally:
            up.close()
        wait = arrived + self.delay - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        try:
            self.sock.sendto(answer, addr)
        except OSError:
            pass

    def stop(self):
        self.closed = True
        self.thread.join(timeout=5)
        self.sock.close()
