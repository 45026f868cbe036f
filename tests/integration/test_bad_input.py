"""Bad input costs nothing but the offending connection: malformed RESP,
oversized requests, connection floods and clients that never read. Each
test checks that the daemon stays up, other clients keep being served and
no data is lost."""

from __future__ import annotations

import socket
import time

import pytest

from support.resp import ConnectionClosed, RespClient
from support.servers import Understudy


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


@pytest.fixture
def daemon():
    server = Understudy().start()
    try:
        yield server
    finally:
        server.cleanup()


def assert_healthy(server, bystander: RespClient) -> None:
    """The daemon is alive, the bystander's connection works, data is intact."""
    assert server.is_alive()
    assert bystander.command("GET", "precious") == b"$4\r\ndata\r\n"
    with server.client() as fresh:
        assert fresh.command("PING") == b"+PONG\r\n"


MALFORMED = [
    (b"*abc\r\n", b"-ERR Protocol error: invalid multibulk length\r\n"),
    (b"*3000000000\r\n", b"-ERR Protocol error: invalid multibulk length\r\n"),
    (b"*1\r\n$-5\r\n", b"-ERR Protocol error: invalid bulk length\r\n"),
    (b"*1\r\n$abc\r\n", b"-ERR Protocol error: invalid bulk length\r\n"),
    (b"*1\r\n$600000000\r\n", b"-ERR Protocol error: invalid bulk length\r\n"),
    (b"*2\r\n$3\r\nGET\r\n:1\r\n", b"-ERR Protocol error: expected '$', got ':'\r\n"),
    (b'SET "unbalanced\r\n', b"-ERR Protocol error: unbalanced quotes in request\r\n"),
    (b"x" * 70000, b"-ERR Protocol error: too big inline request\r\n"),
    (b"*1" + b"1" * 70000, b"-ERR Protocol error: too big mbulk count string\r\n"),
    (b"*1\r\n$" + b"1" * 70000, b"-ERR Protocol error: too big bulk count string\r\n"),
]


@pytest.mark.parametrize("payload,expected", MALFORMED, ids=[repr(p[:20]) for p, _ in MALFORMED])
def test_malformed_request_closes_only_that_connection(daemon, payload, expected):
    bystander = daemon.client()
    bystander.command("SET", "precious", "data")
    offender = daemon.client()
    offender.send_raw(payload)
    assert offender.read_reply(timeout=5) == expected
    closed, _ = offender.wait_closed(timeout=5)
    assert closed, "the offending connection must be closed after a protocol error"
    assert_healthy(daemon, bystander)
    bystander.close()


def test_requests_before_the_error_are_answered(daemon):
    client = daemon.client()
    client.send_raw(b"*1\r\n$4\r\nPING\r\nPING\r\n*x\r\n")
    assert client.read_reply() == b"+PONG\r\n"
    assert client.read_reply() == b"+PONG\r\n"
    assert client.read_reply() == b"-ERR Protocol error: invalid multibulk length\r\n"
    client.close()


def test_query_buffer_limit_closes_the_client():
    server = Understudy(["--client-query-buffer-limit", "1mb"]).start()
    try:
        bystander = server.client()
        bystander.command("SET", "precious", "data")
        hog = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        hog.sendall(b"*2\r\n$3\r\nGET\r\n$5000000\r\n")
        closed = False
        try:
            for _ in range(40):  # at most 40 MiB, bounded
                hog.sendall(b"x" * (1 << 20))
        except (BrokenPipeError, ConnectionResetError):
            closed = True
        if not closed:
            hog.settimeout(5)
            try:
                closed = hog.recv(1) == b""
            except (ConnectionResetError, socket.timeout):
                closed = True
        assert closed, "a client past client-query-buffer-limit must be disconnected"
        hog.close()
        assert_healthy(server, bystander)
        bystander.close()
    finally:
        server.cleanup()


def test_maxclients_rejects_extra_connections_with_redis_error():
    server = Understudy(["--maxclients", "4"]).start()
    try:
        clients = [server.client() for _ in range(4)]
        for c in clients:
            assert c.command("PING") == b"+PONG\r\n"
        extra = RespClient("127.0.0.1", server.port)
        extra.send_command([b"PING"])
        assert extra.read_reply(timeout=5) == b"-ERR max number of clients reached\r\n"
        extra.close()
        clients.pop().close()
        # A slot freed: a new client gets in (the close is noticed promptly).
        deadline = time.monotonic() + 5
        while True:
            probe = RespClient("127.0.0.1", server.port)
            probe.send_command([b"PING"])
            reply = probe.read_reply(timeout=5)
            probe.close()
            if reply == b"+PONG\r\n" or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert reply == b"+PONG\r\n"
        for c in clients:
            c.close()
    finally:
        server.cleanup()


def test_client_that_never_reads_is_bounded(daemon):
    """A pipeline of big replies that is never read must not grow the daemon
    without bound: it stops reading that client's requests instead."""
    setup = daemon.client()
    value = b"v" * (100 * 1024)
    assert setup.command("SET", "big", value) == b"+OK\r\n"
    setup.command("SET", "precious", "data")
    pid = daemon.process.pid
    before = rss_kib(pid)

    hog = socket.create_connection(("127.0.0.1", daemon.port), timeout=5)
    hog.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    request = b"*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n" * 1000
    hog.setblocking(False)
    sent = 0
    deadline = time.monotonic() + 5
    # Up to 20,000 GETs (2 GB of replies if they were all produced).
    while sent < 20 * len(request) and time.monotonic() < deadline:
        try:
            sent += hog.send(request)
        except BlockingIOError:
            time.sleep(0.01)
    time.sleep(0.5)
    growth_mib = (rss_kib(pid) - before) / 1024
    assert growth_mib < 64, f"daemon grew by {growth_mib:.0f} MiB for a client that never reads"
    assert_healthy(daemon, setup)
    hog.close()
    setup.close()


def test_inline_commands_like_telnet(daemon):
    raw = socket.create_connection(("127.0.0.1", daemon.port), timeout=5)
    raw.sendall(b"PING\r\nSET k  'two words'\r\nGET k\r\n\r\nECHO \"a\\x41\\n\"\n")
    expected = b"+PONG\r\n+OK\r\n$9\r\ntwo words\r\n$3\r\naA\n\r\n"
    data = b""
    deadline = time.monotonic() + 5
    while len(data) < len(expected) and time.monotonic() < deadline:
        chunk = raw.recv(4096)
        if not chunk:
            break
        data += chunk
    assert data == expected
    raw.close()


def test_client_disconnect_mid_request_leaves_no_trace(daemon):
    for _ in range(50):
        s = socket.create_connection(("127.0.0.1", daemon.port), timeout=5)
        s.sendall(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$100\r\nabc")
        s.close()
    with daemon.client() as c:
        assert c.command("EXISTS", "k") == b":0\r\n"
        # Closes are noticed asynchronously: poll, bounded.
        deadline = time.monotonic() + 5
        while True:
            reply = c.command("INFO", "clients")
            if b"connected_clients:1\r\n" in reply or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert b"connected_clients:1\r\n" in reply


def test_connection_closed_is_detected(daemon):
    c = daemon.client()
    c.send_raw(b"QUIT\r\n")
    assert c.read_reply() == b"+OK\r\n"
    closed, _ = c.wait_closed(timeout=5)
    assert closed
    with pytest.raises((ConnectionClosed, OSError)):
        c.command("PING")
