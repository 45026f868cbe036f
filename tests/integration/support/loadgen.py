"""A load of N concurrent clients doing mixed reads and writes on classified keys.

One thread drives every client over its own non-blocking raw socket (RESP2),
each client always having exactly one request in flight, so the server sees
N concurrent clients while Python's GIL is not shared between N threads.
It manages roughly 10-30k requests/s against a local redis-server on a
2-core machine (the cost is mostly the send() syscall); per-request latency
stays around 1 ms, which is the resolution of the fault timings.
Every request is recorded with its send and receive instants
(time.monotonic_ns), its class, command and outcome: a reply, a Redis error
reply (its text), a connection problem or a timeout.

Keys are owned by one client each (`session:<client>:<n>`...), so each client
knows what its reads must return; a read that disagrees with the client's own
writes is counted as a mismatch (a lost write, or data the primary never got
during an outage). Values name their key (`session:3:7=<seq>`), so a reply of
the wrong type or carrying another key's value is a "foreign" mismatch: a
reply delivered to the wrong request, whatever happened to the data.
Classes and their commands:

  blacklist  blacklist:<c>:<n>   SADD, SISMEMBER; blacklist:<c>:t<n> SET EX, EXISTS
  session    session:<c>:<n>     SET EX, GET, EXPIRE; session:<c>:h<n> HSET, HGETALL
  ratelimit  rl:<c>:<n>          INCR, INCRBY, EXPIRE
  strict     strict:<c>:<n>      SET, GET

Usage:
  gen = LoadGenerator("127.0.0.1", port, clients=24).start()
  time.sleep(1); gen.mark("fault"); inject(); time.sleep(1)
  gen.stop(); summary = gen.summary("fault")
"""

from __future__ import annotations

import collections
import dataclasses
import errno
import random
import selectors
import socket
import threading
import time

# (class name, key prefix, weight in the mix)
CLASSES = (
    ("blacklist", "blacklist:", 30),
    ("session", "session:", 30),
    ("ratelimit", "rl:", 25),
    ("strict", "strict:", 15),
)
SERVE_CLASSES = ("blacklist", "session", "ratelimit")

# Error texts for problems that are not Redis error replies.
CONNECT_REFUSED = "connect: refused"
CONNECT_FAILED = "connect: failed"
CONNECTION_CLOSED = "connection closed"
TIMEOUT = "timeout"

_NS_PER_MS = 1_000_000


class _Incomplete(Exception):
    """The buffer holds only part of a reply."""


class _Error(str):
    """A Redis error reply's text (without the leading '-')."""


class _Status(str):
    """A Redis status reply's text (without the leading '+')."""


def _parse(buf: bytes | bytearray, pos: int):
    """Parses one RESP2 reply at `pos`; returns (value, end) or raises _Incomplete."""
    line_end = buf.find(b"\r\n", pos)
    if line_end < 0:
        raise _Incomplete
    kind = buf[pos]
    header = bytes(buf[pos + 1:line_end])
    cursor = line_end + 2
    if kind == 43:  # '+'
        return _Status(header.decode()), cursor
    if kind == 45:  # '-'
        return _Error(header.decode("utf-8", "replace")), cursor
    if kind == 58:  # ':'
        return int(header), cursor
    if kind == 36:  # '$'
        length = int(header)
        if length < 0:
            return None, cursor
        if len(buf) < cursor + length + 2:
            raise _Incomplete
        return bytes(buf[cursor:cursor + length]), cursor + length + 2
    if kind == 42:  # '*'
        count = int(header)
        if count < 0:
            return None, cursor
        items = []
        for _ in range(count):
            item, cursor = _parse(buf, cursor)
            items.append(item)
        return items, cursor
    raise ValueError(f"unexpected reply type byte {chr(kind)!r} in {bytes(buf[pos:pos + 40])!r}")


def _encode(args: tuple) -> bytes:
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        data = arg if isinstance(arg, bytes) else str(arg).encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(parts)


# Mismatches that no history of the key could explain: a reply of the wrong
# type, or another key's value. They mean replies reached the wrong request
# (a desynchronised connection), whatever happened to the data.
FOREIGN_PREFIX = "foreign: "


def _foreign(text: str) -> str:
    return FOREIGN_PREFIX + text


# Marker for a model value whose state is unknown (a write's outcome was
# lost with its connection): the next read adopts what the server says.
_UNKNOWN = object()


@dataclasses.dataclass
class Record:
    """One request. recv_ns is None if it was never answered."""

    client: int
    klass: str
    command: str
    send_ns: int
    recv_ns: int | None
    error: str | None  # Redis error text, or CONNECT_*/CONNECTION_CLOSED/TIMEOUT
    mismatch: str | None  # a successful reply that contradicts the client's own writes

    @property
    def latency_ns(self) -> int | None:
        return None if self.recv_ns is None else self.recv_ns - self.send_ns


class _Request:
    __slots__ = ("klass", "command", "payload", "check", "on_lost", "send_ns")

    def __init__(self, klass, command, args, check, on_lost=None):
        self.klass = klass
        self.command = command
        self.payload = _encode(args)
        # check(reply) -> mismatch text or None; updates the client's model.
        self.check = check
        # on_lost(): the outcome is unknown (connection lost, timeout).
        self.on_lost = on_lost
        self.send_ns = 0


class _Client:
    """One connection and the model of the keys it owns."""

    def __init__(self, index: int, keys: int, rng: random.Random, tag: str):
        self.index = index
        self.tag = tag
        self.keys = keys
        self.rng = rng
        self.sock: socket.socket | None = None
        self.rbuf = bytearray()
        self.pending: _Request | None = None
        self.next_connect_ns = 0
        self.seq = 0
        self.sets: dict[int, set[bytes]] = collections.defaultdict(set)
        self.flags: dict[int, object] = {}  # blacklist:<c>:t<n> -> True/_UNKNOWN
        self.strings: dict[str, object] = {}  # session / strict values
        self.hashes: dict[int, object] = {}  # session:<c>:h<n> -> dict or _UNKNOWN
        self.counters: dict[int, object] = {}  # rl:<c>:<n> -> int or _UNKNOWN

    def next_request(self) -> _Request:
        rng = self.rng
        self.seq += 1
        n = rng.randrange(self.keys)
        c = f"{self.tag}{self.index}"
        roll = rng.randrange(100)
        for klass, _, weight in CLASSES:
            if roll < weight:
                break
            roll -= weight
        op = rng.randrange(4)
        if klass == "blacklist":
            return self._blacklist(c, n, op)
        if klass == "session":
            return self._session(c, n, op)
        if klass == "ratelimit":
            return self._ratelimit(c, n, op)
        return self._strict(c, n, op)

    # Each builder returns a request whose check() verifies the reply against
    # the model and then updates the model with what the server said.

    def _blacklist(self, c: str, n: int, op: int) -> _Request:
        key = f"blacklist:{c}:{n}"
        members = self.sets[n]
        if op == 0:
            token = f"tok-{c}-{self.seq}".encode()

            def check(reply):
                if reply not in (0, 1):
                    return _foreign(f"SADD {key} gave {reply!r}")
                if reply != 1:
                    return f"SADD new member gave {reply!r}"
                members.add(token)
                return None
            return _Request("blacklist", "SADD", ("SADD", key, token), check)
        if op == 1:
            if members and self.rng.random() < 0.8:
                member, expected = self.rng.choice(sorted(members)), 1
            else:
                member, expected = f"never-{c}-{self.seq}".encode(), 0

            def check(reply):
                if reply not in (0, 1):
                    return _foreign(f"SISMEMBER {key} gave {reply!r}")
                if reply != expected:
                    if reply == 0:
                        members.discard(member)
                    return f"SISMEMBER {key} {member!r} gave {reply!r}, expected {expected}"
                return None
            return _Request("blacklist", "SISMEMBER", ("SISMEMBER", key, member), check)
        flag_key = f"blacklist:{c}:t{n}"
        if op == 2:
            def check(reply):
                self.flags[n] = True
                return None if reply == "OK" else _foreign(f"SET {flag_key} gave {reply!r}")

            def lost():
                self.flags[n] = _UNKNOWN
            return _Request("blacklist", "SET", ("SET", flag_key, "1", "EX", "600"), check, lost)
        known = self.flags.get(n)

        def check(reply):
            if reply not in (0, 1):
                return _foreign(f"EXISTS {flag_key} gave {reply!r}")
            if known is _UNKNOWN:
                self.flags[n] = reply == 1
                return None
            expected = 1 if known else 0
            if reply != expected:
                self.flags[n] = reply == 1
                return f"EXISTS {flag_key} gave {reply!r}, expected {expected}"
            return None
        return _Request("blacklist", "EXISTS", ("EXISTS", flag_key), check)

    def _string_read(self, klass: str, key: str) -> _Request:
        known = self.strings.get(key)

        def check(reply):
            if reply is not None and (not isinstance(reply, bytes)
                                      or not reply.startswith(key.encode() + b"=")):
                return _foreign(f"GET {key} gave {reply!r}")
            if known is _UNKNOWN:
                self.strings[key] = reply
                return None
            if reply != known:
                self.strings[key] = reply
                return f"GET {key} gave {reply!r}, expected {known!r}"
            return None
        return _Request(klass, "GET", ("GET", key), check)

    def _string_write(self, klass: str, key: str, extra: tuple) -> _Request:
        value = f"{key}={self.seq}".encode()

        def check(reply):
            if reply != "OK":
                self.strings[key] = _UNKNOWN
                return _foreign(f"SET {key} gave {reply!r}")
            self.strings[key] = value
            return None

        def lost():
            self.strings[key] = _UNKNOWN
        return _Request(klass, "SET", ("SET", key, value, *extra), check, lost)

    def _session(self, c: str, n: int, op: int) -> _Request:
        key = f"session:{c}:{n}"
        if op == 0:
            return self._string_write("session", key, ("EX", "600"))
        if op == 1:
            return self._string_read("session", key)
        if op == 2:
            if self.rng.random() < 0.5:
                exists = self.strings.get(key)

                def check(reply):
                    if reply not in (0, 1):
                        return _foreign(f"EXPIRE {key} gave {reply!r}")
                    if exists is _UNKNOWN:
                        return None
                    expected = 0 if exists is None else 1
                    return None if reply == expected else f"EXPIRE {key} gave {reply!r}, expected {expected}"
                return _Request("session", "EXPIRE", ("EXPIRE", key, "600"), check)
            hkey = f"session:{c}:h{n}"
            field = f"f{self.rng.randrange(4)}".encode()
            value = f"{hkey}={self.seq}".encode()

            def check(reply):
                current = self.hashes.get(n)
                if reply not in (0, 1):
                    self.hashes[n] = _UNKNOWN
                    return _foreign(f"HSET {hkey} gave {reply!r}")
                if isinstance(current, dict):
                    expected = 0 if field in current else 1
                    current[field] = value
                    if reply != expected:
                        return f"HSET {hkey} {field!r} gave {reply}, expected {expected}"
                elif current is None:
                    self.hashes[n] = {field: value}
                    if reply != 1:
                        return f"HSET {hkey} new field gave {reply}"
                return None

            def lost():
                self.hashes[n] = _UNKNOWN
            return _Request("session", "HSET", ("HSET", hkey, field, value), check, lost)
        hkey = f"session:{c}:h{n}"
        known = self.hashes.get(n)

        def check(reply):
            if (not isinstance(reply, list) or len(reply) % 2
                    or not all(isinstance(x, bytes) for x in reply)):
                return _foreign(f"HGETALL {hkey} gave {reply!r}")
            got = dict(zip(reply[0::2], reply[1::2]))
            prefix = hkey.encode() + b"="
            if any(not v.startswith(prefix) for v in got.values()):
                return _foreign(f"HGETALL {hkey} gave {got!r}")
            if known is _UNKNOWN:
                self.hashes[n] = got or None
                return None
            expected = known or {}
            if got != expected:
                self.hashes[n] = got or None
                return f"HGETALL {hkey} gave {got!r}, expected {expected!r}"
            return None
        return _Request("session", "HGETALL", ("HGETALL", hkey), check)

    def _ratelimit(self, c: str, n: int, op: int) -> _Request:
        key = f"rl:{c}:{n}"
        if op == 3:
            exists = self.counters.get(n)

            def check(reply):
                if reply not in (0, 1):
                    return _foreign(f"EXPIRE {key} gave {reply!r}")
                if exists is _UNKNOWN:
                    return None
                expected = 0 if exists is None else 1
                return None if reply == expected else f"EXPIRE {key} gave {reply!r}, expected {expected}"
            return _Request("ratelimit", "EXPIRE", ("EXPIRE", key, "60"), check)
        step = 1 if op < 2 else 5
        before = self.counters.get(n)

        def check(reply):
            if not isinstance(reply, int) or isinstance(reply, bool):
                self.counters[n] = _UNKNOWN
                return _foreign(f"INCR {key} gave {reply!r}")
            self.counters[n] = reply
            if before is _UNKNOWN:
                return None
            expected = (before or 0) + step
            return None if reply == expected else f"INCR {key} gave {reply}, expected {expected}"

        def lost():
            self.counters[n] = _UNKNOWN
        if step == 1:
            return _Request("ratelimit", "INCR", ("INCR", key), check, lost)
        return _Request("ratelimit", "INCRBY", ("INCRBY", key, "5"), check, lost)

    def _strict(self, c: str, n: int, op: int) -> _Request:
        key = f"strict:{c}:{n}"
        if op < 2:
            return self._string_write("strict", key, ())
        return self._string_read("strict", key)


@dataclasses.dataclass
class Summary:
    """What happened around one instant (the fault, t0)."""

    t0_ns: int
    start_ns: int
    stop_ns: int
    records: list[Record]
    # (class, error text) -> count
    errors: collections.Counter
    # first reply of any kind to a request sent after t0, ms after t0
    first_reply_ms: float | None
    # first successful reply on a serve class to a request sent after t0
    first_serve_ok_ms: float | None
    # the longest wait of any request outstanding at or after t0
    max_stall_ms: float
    requests_before: int
    requests_after: int
    throughput_before: float
    throughput_after: float
    unanswered: int
    mismatches_before: list[Record]
    mismatches_after: list[Record]

    @property
    def foreign(self) -> list[Record]:
        """Mismatches no history of the key explains (see FOREIGN_PREFIX)."""
        return [r for r in self.mismatches_before + self.mismatches_after
                if r.mismatch.startswith(FOREIGN_PREFIX)]

    def errors_of(self, klasses) -> dict[str, int]:
        """{error text: count} for the given classes."""
        out: collections.Counter = collections.Counter()
        for (klass, text), count in self.errors.items():
            if klass in klasses:
                out[text] += count
        return dict(out)

    def error_records(self, klasses) -> list[Record]:
        return [r for r in self.records if r.error is not None and r.klass in klasses]

    def count_by_class(self, after_t0: bool | None = None) -> collections.Counter:
        counts: collections.Counter = collections.Counter()
        for r in self.records:
            if after_t0 is None or (r.send_ns >= self.t0_ns) == after_t0:
                counts[r.klass] += 1
        return counts

    def describe(self) -> str:
        def ms(value):
            return "n/a" if value is None else f"{value:.1f}"
        lines = [
            f"requests={len(self.records)} (before t0 {self.requests_before}, after {self.requests_after})"
            f" throughput before={self.throughput_before:.0f}/s after={self.throughput_after:.0f}/s",
            f"first_reply_ms={ms(self.first_reply_ms)} first_serve_ok_ms={ms(self.first_serve_ok_ms)}"
            f" max_stall_ms={self.max_stall_ms:.1f} unanswered={self.unanswered}",
            f"mismatches before t0={len(self.mismatches_before)} after={len(self.mismatches_after)}"
            f" foreign={len(self.foreign)}",
        ]
        for (klass, text), count in sorted(self.errors.items()):
            lines.append(f"  error {klass}: {text!r} x{count}")
        for record in (self.foreign + self.mismatches_before + self.mismatches_after)[:5]:
            at = (record.send_ns - self.t0_ns) / _NS_PER_MS
            lines.append(f"  mismatch at t0{at:+.1f}ms: {record.mismatch}")
        return "\n".join(lines)


class LoadGenerator:
    """N clients, one request in flight each, driven by one thread."""

    def __init__(self, host: str, port: int, clients: int = 24, keys_per_client: int = 16,
                 request_timeout_s: float = 5.0, reconnect_delay_s: float = 0.02, seed: int = 1,
                 key_tag: str = ""):
        if clients < 1:
            raise ValueError("clients >= 1")
        self.host = host
        self.port = port
        self.request_timeout_ns = int(request_timeout_s * 1e9)
        self.reconnect_delay_ns = int(reconnect_delay_s * 1e9)
        # key_tag prefixes the client part of every key (`session:<tag><c>:<n>`)
        # so two runs against one server do not share keys.
        self._clients = [_Client(i, keys_per_client, random.Random(seed * 1000 + i), key_tag)
                         for i in range(clients)]
        self._records: list[Record] = []
        self._marks: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failure: BaseException | None = None
        self._selector = selectors.DefaultSelector()
        self.start_ns = 0
        self.stop_ns = 0

    # --- Public API -------------------------------------------------------------

    def start(self) -> "LoadGenerator":
        self.start_ns = time.monotonic_ns()
        self._thread = threading.Thread(target=self._run, name="loadgen", daemon=True)
        self._thread.start()
        return self

    def mark(self, name: str) -> int:
        """Records the instant `name` (e.g. 'fault' = t0); returns it in ns."""
        now = time.monotonic_ns()
        self._marks[name] = now
        return now

    def marks(self) -> dict[str, int]:
        return dict(self._marks)

    def replies(self) -> int:
        """Requests answered so far (any reply or error)."""
        return sum(1 for r in list(self._records) if r.recv_ns is not None)

    def records(self) -> list[Record]:
        return list(self._records)

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stops sending; requests still in flight are recorded as unanswered."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout_s)
            if self._thread.is_alive():
                raise RuntimeError("load generator thread did not stop")
            self._thread = None
        if self._failure is not None:
            raise RuntimeError(f"load generator failed: {self._failure!r}") from self._failure

    def summary(self, t0: str | int = "fault") -> Summary:
        t0_ns = self._marks[t0] if isinstance(t0, str) else t0
        records = list(self._records)
        errors: collections.Counter = collections.Counter()
        first_reply = first_ok = None
        max_stall = 0
        before = after = unanswered = 0
        mismatches_before, mismatches_after = [], []
        for r in records:
            if r.error is not None:
                errors[(r.klass, r.error)] += 1
            if r.mismatch is not None:
                (mismatches_before if r.send_ns < t0_ns else mismatches_after).append(r)
            end_ns = r.recv_ns if r.recv_ns is not None else self.stop_ns
            if r.recv_ns is None:
                unanswered += 1
            elif r.send_ns < t0_ns:
                before += 1
            else:
                after += 1
            if end_ns >= t0_ns:
                max_stall = max(max_stall, end_ns - r.send_ns)
            if r.send_ns >= t0_ns and r.recv_ns is not None:
                if first_reply is None or r.recv_ns < first_reply:
                    first_reply = r.recv_ns
                if (r.error is None and r.klass in SERVE_CLASSES
                        and (first_ok is None or r.recv_ns < first_ok)):
                    first_ok = r.recv_ns
        span_before = max(t0_ns - self.start_ns, 1) / 1e9
        span_after = max(self.stop_ns - t0_ns, 1) / 1e9

        def rel(value):
            return None if value is None else (value - t0_ns) / _NS_PER_MS
        return Summary(
            t0_ns=t0_ns, start_ns=self.start_ns, stop_ns=self.stop_ns, records=records,
            errors=errors, first_reply_ms=rel(first_reply), first_serve_ok_ms=rel(first_ok),
            max_stall_ms=max_stall / _NS_PER_MS, requests_before=before, requests_after=after,
            throughput_before=before / span_before, throughput_after=after / span_after,
            unanswered=unanswered, mismatches_before=mismatches_before,
            mismatches_after=mismatches_after)

    # --- The event loop ------------------------------------------------------------

    def _run(self) -> None:
        try:
            self._loop()
        except BaseException as exc:  # noqa: BLE001 - re-raised by stop()
            self._failure = exc
        finally:
            self.stop_ns = time.monotonic_ns()
            for client in self._clients:
                if client.pending is not None:
                    self._record(client, client.pending, None, None, None)
                    client.pending = None
                self._close(client)
            self._selector.close()

    def _loop(self) -> None:
        while not self._stop.is_set():
            now = time.monotonic_ns()
            for client in self._clients:
                if client.sock is None:
                    if now >= client.next_connect_ns:
                        self._connect_and_send(client)
                elif client.pending is not None and now - client.pending.send_ns > self.request_timeout_ns:
                    self._fail(client, TIMEOUT)
            for key, _ in self._selector.select(timeout=0.005):
                self._on_readable(key.data)

    def _connect_and_send(self, client: _Client) -> None:
        request = client.next_request()
        try:
            sock = socket.create_connection((self.host, self.port), timeout=1.0)
        except OSError as exc:
            now = time.monotonic_ns()
            request.send_ns = now
            text = CONNECT_REFUSED if exc.errno == errno.ECONNREFUSED else CONNECT_FAILED
            if request.on_lost is not None:
                request.on_lost()
            self._record(client, request, now, text, None)
            client.next_connect_ns = now + self.reconnect_delay_ns
            return
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setblocking(False)
        client.sock = sock
        client.rbuf.clear()
        self._selector.register(sock, selectors.EVENT_READ, client)
        self._send(client, request)

    def _send(self, client: _Client, request: _Request) -> None:
        client.pending = request
        request.send_ns = time.monotonic_ns()
        try:
            sent = client.sock.send(request.payload)
        except OSError:
            self._fail(client, CONNECTION_CLOSED)
            return
        if sent != len(request.payload):
            # One small request per idle connection always fits the socket
            # buffer; anything else means the peer is gone or wedged.
            self._fail(client, CONNECTION_CLOSED)

    def _on_readable(self, client: _Client) -> None:
        if client.sock is None:
            return
        try:
            data = client.sock.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        now = time.monotonic_ns()
        if not data:
            self._fail(client, CONNECTION_CLOSED)
            return
        client.rbuf += data
        try:
            reply, end = _parse(client.rbuf, 0)
        except _Incomplete:
            return
        del client.rbuf[:end]
        request = client.pending
        client.pending = None
        if request is None or client.rbuf:
            # A reply nobody asked for: record it loudly against the client.
            self._record(client, request or _Request("?", "?", (), None), now, None,
                         f"unexpected extra reply data {bytes(client.rbuf[:60])!r} after {reply!r}")
            self._fail(client, CONNECTION_CLOSED)
            return
        if isinstance(reply, _Error):
            if request.on_lost is not None:
                request.on_lost()  # a failed write may still have happened
            self._record(client, request, now, str(reply), None)
        else:
            self._record(client, request, now, None, request.check(reply))
        self._send(client, client.next_request())

    def _fail(self, client: _Client, text: str) -> None:
        """Records the pending request as failed and drops the connection."""
        request = client.pending
        client.pending = None
        if request is not None:
            if request.on_lost is not None:
                request.on_lost()
            self._record(client, request, time.monotonic_ns(), text, None)
        self._close(client)
        client.next_connect_ns = time.monotonic_ns()

    def _close(self, client: _Client) -> None:
        if client.sock is not None:
            try:
                self._selector.unregister(client.sock)
            except (KeyError, ValueError):
                pass
            client.sock.close()
            client.sock = None

    def _record(self, client: _Client, request: _Request, recv_ns, error, mismatch) -> None:
        self._records.append(Record(client.index, request.klass, request.command, request.send_ns,
                                    recv_ns, error, mismatch))
