"""Publish/subscribe with real clients: redis-py's PubSub, `redis-cli
subscribe` as a subprocess, and a subscriber that never reads while a
publisher floods (client-output-buffer-limit pubsub).

Each test starts its own daemon and stops it by PID. With DIFF_TARGET=redis
the same tests run against a real redis-server 7.0, which shows that what
they assert is Redis's behaviour.
"""

from __future__ import annotations

import os
import re
import select
import shutil
import socket
import subprocess
import time

import pytest
import redis

from support.servers import RedisServer, Understudy

REDIS_CLI = shutil.which("redis-cli")
HOST = "127.0.0.1"


def start_server(extra_args: list[str] | None = None):
    if os.environ.get("DIFF_TARGET", "understudy").strip().lower() == "redis":
        return RedisServer(extra_args).start()
    return Understudy(extra_args).start()


@pytest.fixture
def daemon():
    server = start_server()
    try:
        yield server
    finally:
        server.cleanup()


def connect(server) -> redis.Redis:
    return redis.Redis(host=HOST, port=server.port, socket_timeout=10)


def wait_for_message(pubsub, timeout: float = 5.0):
    """The next message of `pubsub`, or None after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = pubsub.get_message(timeout=0.1)
        if message is not None:
            return message
    return None


def read_lines(process: subprocess.Popen, count: int, timeout: float = 10.0) -> list[bytes]:
    """`count` lines of the process's stdout; fails instead of hanging."""
    lines: list[bytes] = []
    pending = b""
    deadline = time.monotonic() + timeout
    fd = process.stdout.fileno()
    while len(lines) < count:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"only {lines!r} (+{pending!r}) within {timeout}s"
        readable, _, _ = select.select([fd], [], [], remaining)
        if not readable:
            continue
        chunk = os.read(fd, 4096)
        assert chunk, f"output ended after {lines!r} (+{pending!r})"
        pending += chunk
        while b"\n" in pending and len(lines) < count:
            line, pending = pending.split(b"\n", 1)
            lines.append(line + b"\n")
    assert pending == b"", pending
    return lines


def memory_kb(pid: int, field: str) -> int:
    """A VmRSS/VmHWM figure of /proc/<pid>/status, in kB."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise AssertionError(f"no {field} for pid {pid}")


def test_redis_py_channel_and_pattern_messages(daemon):
    r = connect(daemon)
    p = r.pubsub()
    try:
        p.subscribe("news", "sports")
        assert wait_for_message(p) == {"type": "subscribe", "pattern": None, "channel": b"news", "data": 1}
        assert wait_for_message(p) == {"type": "subscribe", "pattern": None, "channel": b"sports", "data": 2}
        p.psubscribe("n*s")
        assert wait_for_message(p) == {"type": "psubscribe", "pattern": None, "channel": b"n*s", "data": 3}

        assert r.pubsub_numsub("news", "none") == [(b"news", 1), (b"none", 0)]
        assert r.pubsub_numpat() == 1
        assert sorted(r.pubsub_channels()) == [b"news", b"sports"]
        assert r.pubsub_channels("s*") == [b"sports"]

        # One subscription by channel and one by pattern: two deliveries.
        assert r.publish("news", "hello") == 2
        assert wait_for_message(p) == {"type": "message", "pattern": None, "channel": b"news", "data": b"hello"}
        assert wait_for_message(p) == {"type": "pmessage", "pattern": b"n*s", "channel": b"news", "data": b"hello"}
        payload = bytes(range(256)) * 40  # binary, 10 KB
        assert r.publish("sports", payload) == 1
        assert wait_for_message(p)["data"] == payload
        assert r.publish("unheard", "x") == 0
        assert wait_for_message(p, timeout=0.3) is None

        # Unsubscribe-all replies one confirmation per channel, counting down.
        p.unsubscribe()
        confirmations = [wait_for_message(p), wait_for_message(p)]
        assert sorted(m["channel"] for m in confirmations) == [b"news", b"sports"]
        assert [m["data"] for m in confirmations] == [2, 1]
        assert all(m["type"] == "unsubscribe" for m in confirmations)
        p.punsubscribe()
        assert wait_for_message(p) == {"type": "punsubscribe", "pattern": None, "channel": b"n*s", "data": 0}
        assert r.pubsub_numpat() == 0
        assert r.pubsub_channels() == []
    finally:
        p.close()
        r.close()


def test_redis_py_listen_and_handlers(daemon):
    r = connect(daemon)
    received = []
    p = r.pubsub(ignore_subscribe_messages=True)
    try:
        p.subscribe(**{"jobs": lambda message: received.append(message["data"])})
        wait_for_message(p, timeout=0.3)  # consumes the confirmation
        for i in range(100):
            assert r.publish("jobs", f"job-{i}") == 1
        deadline = time.monotonic() + 10
        while len(received) < 100 and time.monotonic() < deadline:
            p.get_message(timeout=0.1)
        assert received == [f"job-{i}".encode() for i in range(100)]

        # listen() yields in order; stop after a known message.
        p2 = r.pubsub()
        p2.psubscribe("feed.*")
        for i in range(3):
            r.publish(f"feed.{i}", str(i))
        seen = []
        for message in p2.listen():
            seen.append((message["type"], message["channel"], message["data"]))
            if message["data"] == b"2":
                break
        assert seen == [
            ("psubscribe", b"feed.*", 1),
            ("pmessage", b"feed.0", b"0"),
            ("pmessage", b"feed.1", b"1"),
            ("pmessage", b"feed.2", b"2"),
        ]
        p2.close()
    finally:
        p.close()
        r.close()


def test_redis_py_connection_reuse_after_unsubscribe(daemon):
    """redis-py returns a pubsub connection to its pool after unsubscribing;
    the connection must be usable for ordinary commands again."""
    pool = redis.ConnectionPool(host=HOST, port=daemon.port, max_connections=1)
    r = redis.Redis(connection_pool=pool, socket_timeout=10)
    p = r.pubsub()
    p.subscribe("a")
    assert wait_for_message(p)["type"] == "subscribe"
    p.unsubscribe("a")
    assert wait_for_message(p) == {"type": "unsubscribe", "pattern": None, "channel": b"a", "data": 0}
    p.close()
    assert r.set("k", "v") is True
    assert r.get("k") == b"v"
    r.close()


def test_resp2_subscribed_mode_rejects_other_commands_on_the_wire(daemon):
    with socket.create_connection((HOST, daemon.port), timeout=5) as sock:
        stream = sock.makefile("rb")
        sock.sendall(b"SUBSCRIBE ch\r\nGET k\r\nPING\r\nUNSUBSCRIBE\r\nGET k\r\n")
        expected = [
            b"*3\r\n", b"$9\r\n", b"subscribe\r\n", b"$2\r\n", b"ch\r\n", b":1\r\n",
            b"-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / "
            b"RESET are allowed in this context\r\n",
            b"*2\r\n", b"$4\r\n", b"pong\r\n", b"$0\r\n", b"\r\n",
            b"*3\r\n", b"$11\r\n", b"unsubscribe\r\n", b"$2\r\n", b"ch\r\n", b":0\r\n",
            b"$-1\r\n",
        ]
        assert [stream.readline() for _ in expected] == expected


@pytest.mark.skipif(REDIS_CLI is None, reason="redis-cli not installed")
def test_redis_cli_subscribe_prints_messages(daemon):
    cli = subprocess.Popen(
        [REDIS_CLI, "-h", HOST, "-p", str(daemon.port), "subscribe", "alerts"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    r = connect(daemon)
    try:
        # The confirmation: three lines.
        assert read_lines(cli, 3) == [b"subscribe\n", b"alerts\n", b"1\n"]
        assert r.pubsub_numsub("alerts") == [(b"alerts", 1)]
        assert r.publish("alerts", "disk full") == 1
        assert r.publish("alerts", "second") == 1
        lines = read_lines(cli, 6)
        assert lines == [b"message\n", b"alerts\n", b"disk full\n", b"message\n", b"alerts\n", b"second\n"]
    finally:
        cli.terminate()
        cli.wait(timeout=10)
        cli.stdout.close()
    # The subscription goes with the connection.
    deadline = time.monotonic() + 5
    while r.pubsub_numsub("alerts") != [(b"alerts", 0)] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert r.pubsub_numsub("alerts") == [(b"alerts", 0)]
    r.close()


def test_idle_timeout_spares_subscribers():
    server = start_server(["--timeout", "1"])
    try:
        r = connect(server)
        p = r.pubsub()
        p.subscribe("quiet")
        assert wait_for_message(p)["type"] == "subscribe"
        idle = socket.create_connection((HOST, server.port), timeout=5)
        time.sleep(2.5)  # > timeout: the idle plain client is closed
        idle.settimeout(3)
        assert idle.recv(16) == b""
        idle.close()
        assert r.publish("quiet", "still here") == 1
        message = wait_for_message(p)
        assert message is not None and message["data"] == b"still here"
        p.close()
        r.close()
    finally:
        server.cleanup()


def _slow_subscriber(server, channel: bytes) -> socket.socket:
    """A raw subscriber with a tiny receive buffer that will never read."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(5)
    sock.connect((HOST, server.port))
    sock.sendall(b"SUBSCRIBE " + channel + b"\r\n")
    confirmation = b"*3\r\n$9\r\nsubscribe\r\n$%d\r\n%s\r\n:1\r\n" % (len(channel), channel)
    received = b""
    while len(received) < len(confirmation):
        received += sock.recv(len(confirmation) - len(received))
    assert received == confirmation
    return sock


def _drained_to_eof(sock: socket.socket, limit_bytes: int, timeout_s: float) -> bool:
    """Reads what is left; True if the server closed the connection."""
    sock.settimeout(0.5)
    deadline = time.monotonic() + timeout_s
    total = 0
    while time.monotonic() < deadline and total <= limit_bytes:
        try:
            chunk = sock.recv(1 << 20)
        except socket.timeout:
            continue
        except ConnectionResetError:
            return True
        if not chunk:
            return True
        total += len(chunk)
    return False


def test_slow_subscriber_is_disconnected_at_the_hard_limit(daemon):
    hard_limit = 32 * 1024 * 1024  # the default pubsub class: 32mb 8mb 60
    r = connect(daemon)
    pid = daemon.process.pid
    baseline_kb = memory_kb(pid, "VmRSS")
    calm = r.pubsub()
    calm.subscribe("calm")
    assert wait_for_message(calm)["type"] == "subscribe"
    slow = _slow_subscriber(daemon, b"flood")

    payload = b"x" * (64 * 1024)
    published = 0
    disconnected = False
    deadline = time.monotonic() + 60
    # Bounded: at most 8192 messages (512 MB) or 60 s.
    while published < 8192 and time.monotonic() < deadline:
        pipe = r.pipeline(transaction=False)
        for _ in range(16):
            pipe.publish("flood", payload)
        pipe.pubsub_numsub("flood")
        replies = pipe.execute()
        published += 16
        if replies[-1] == [(b"flood", 0)]:
            disconnected = True
            break
    assert disconnected, f"slow subscriber still connected after {published} messages"
    published_bytes = published * len(payload)
    # It went over the limit (socket buffers absorb a few MB more), and
    # was cut off well before the flood could pile up much past it.
    assert hard_limit <= published_bytes <= hard_limit + 48 * 1024 * 1024, published_bytes

    # The daemon's memory stayed bounded and came back down.
    peak_growth_mb = (memory_kb(pid, "VmHWM") - baseline_kb) / 1024
    assert peak_growth_mb < 160, f"peak RSS grew by {peak_growth_mb:.0f} MB"
    time.sleep(0.2)
    rss_growth_mb = (memory_kb(pid, "VmRSS") - baseline_kb) / 1024
    assert rss_growth_mb < 64, f"RSS still {rss_growth_mb:.0f} MB above the start"

    # The slow client's socket was closed by the server.
    assert _drained_to_eof(slow, limit_bytes=hard_limit * 2, timeout_s=10)
    slow.close()

    # Everybody else carries on.
    assert r.set("after", "flood") is True
    assert r.get("after") == b"flood"
    assert r.publish("calm", "fine") == 1
    assert wait_for_message(calm) == {"type": "message", "pattern": None, "channel": b"calm", "data": b"fine"}
    assert r.publish("flood", "nobody") == 0
    calm.close()
    r.close()

    log = daemon.log_path.read_text(errors="replace")
    assert re.search(
        r"Client id=\d+ addr=\S+ .*flags=P .*sub=1 .* scheduled to be closed ASAP for "
        r"overcoming of output buffer limits\.",
        log,
    ), log[-2000:]


def test_slow_subscriber_over_the_soft_limit_for_too_long(daemon):
    r = connect(daemon)
    assert r.config_set("client-output-buffer-limit", "pubsub 0 256kb 1") is True
    assert r.config_get("client-output-buffer-limit") == {
        "client-output-buffer-limit": "normal 0 0 0 slave 268435456 67108864 60 pubsub 0 262144 1"
    }
    slow = _slow_subscriber(daemon, b"trickle")
    payload = b"y" * (64 * 1024)
    # Well over the soft limit (plus what the socket buffers take), far
    # under any hard limit: the client survives for now.
    for _ in range(128):
        assert r.publish("trickle", payload) == 1
    assert r.pubsub_numsub("trickle") == [(b"trickle", 1)]
    # Still over it more than a second later: the next message closes it.
    time.sleep(2.2)
    r.publish("trickle", payload)
    deadline = time.monotonic() + 5
    while r.pubsub_numsub("trickle") != [(b"trickle", 0)] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert r.pubsub_numsub("trickle") == [(b"trickle", 0)]
    assert _drained_to_eof(slow, limit_bytes=64 * 1024 * 1024, timeout_s=10)
    slow.close()
    r.close()
