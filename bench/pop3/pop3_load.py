"""A small fast POP3 load client (asyncio): N users at once, each USER/PASS, LIST, RETR of
every message, QUIT. Replies are read in bulk (whole socket reads, the multi-line end found
by its last five octets), not line by line, so the client costs little next to the server.
Every RETR reply is checked: "+OK", and the un-dot-stuffed payload has exactly the octet
count LIST gave for that message.
"""
import asyncio
import time

END = b"\r\n.\r\n"


class Pop3Error(Exception):
    pass


async def _read_single(reader, buf):
    while b"\r\n" not in buf:
        chunk = await reader.read(65536)
        if not chunk:
            raise Pop3Error("connection closed")
        buf += chunk
    line, _, rest = bytes(buf).partition(b"\r\n")
    if not line.startswith(b"+OK"):
        raise Pop3Error(line.decode(errors="replace"))
    return line, rest


async def _read_multi(reader):
    buf = bytearray()
    while True:
        chunk = await reader.read(262144)
        if not chunk:
            raise Pop3Error("connection closed in a multi-line reply")
        buf += chunk
        # dot-stuffing means CRLF "." CRLF can only be the terminator (RFC 1939 section 3)
        if buf.endswith(END):
            break
        if buf.startswith(b"-ERR") and buf.endswith(b"\r\n"):
            raise Pop3Error(bytes(buf).decode(errors="replace").strip())
    first_end = buf.index(b"\r\n")
    if not buf.startswith(b"+OK"):
        raise Pop3Error(bytes(buf[:first_end]).decode(errors="replace"))
    return buf, first_end


def _payload_len(buf, first_end):
    """Octets of the message itself: between the status line and the terminator, with
    dot-stuffing removed (RFC 1939 section 3)."""
    body = bytes(buf[first_end + 2: len(buf) - 3])  # keeps the CRLF before ".\r\n"
    stuffed = body.count(b"\r\n..") + (1 if body.startswith(b"..") else 0)
    return len(body) - stuffed


async def one_user(port, user, password):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        _, rest = await _read_single(reader, bytearray())
        writer.write(f"USER {user}\r\n".encode())
        _, rest = await _read_single(reader, bytearray(rest))
        writer.write(f"PASS {password}\r\n".encode())
        _, rest = await _read_single(reader, bytearray(rest))
        if rest:
            raise Pop3Error("unexpected data after PASS reply")
        writer.write(b"LIST\r\n")
        buf, first_end = await _read_multi(reader)
        sizes = []
        for line in bytes(buf[first_end + 2: len(buf) - 3]).split(b"\r\n"):
            if line:
                num, size = line.split()
                sizes.append((int(num), int(size)))
        octets = 0
        for num, size in sizes:
            writer.write(f"RETR {num}\r\n".encode())
            buf, first_end = await _read_multi(reader)
            got = _payload_len(buf, first_end)
            if got != size:
                raise Pop3Error(f"{user} RETR {num}: {got} octets, LIST said {size}")
            octets += got
        writer.write(b"QUIT\r\n")
        await _read_single(reader, bytearray())
        return len(sizes), octets
    finally:
        writer.close()
        try:
            await writer.wait_closed()
        except OSError:
            pass


async def _round(port, users, password, expect):
    results = await asyncio.gather(*(one_user(port, u, password) for u in users))
    for (n, _), u in zip(results, users):
        if expect is not None and n != expect:
            raise Pop3Error(f"{u}: {n} messages listed, expected {expect}")
    return sum(n for n, _ in results), sum(o for _, o in results)


def run_round(port, users, password, expect=None, timeout=300):
    """One round: all users at once. Returns (retrs, octets, wall_s, client_cpu_s)."""
    c0, t0 = time.process_time(), time.monotonic()
    retrs, octets = asyncio.run(asyncio.wait_for(_round(port, users, password, expect), timeout))
    return retrs, octets, time.monotonic() - t0, time.process_time() - c0
