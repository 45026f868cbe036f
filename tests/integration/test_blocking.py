"""Blocking commands with real clients: redis-py connections in threads, raw
sockets and redis-cli subprocesses, against a daemon each test starts and
stops by PID. With DIFF_TARGET=redis the same tests run against a real
redis-server 7.0 (to validate the tests themselves).

Timing is asserted loosely: lower bounds for timeouts (a reply must not come
early) and generous upper bounds (it must come at all), since the machine
may be loaded. Clients are ordered by waiting until INFO reports them
blocked, never by sleeping.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
import time

import pytest
import redis

from support.servers import RedisServer, Understudy

REDIS_CLI = shutil.which("redis-cli")
WAIT_LIMIT_S = 10.0  # upper bound for anything that should happen "soon"


def started(args: list[str]):
    """Starts understudy (or redis-server with DIFF_TARGET=redis) with `args`."""
    if os.environ.get("DIFF_TARGET", "understudy").strip().lower() == "redis":
        server = RedisServer(args)
    else:
        server = Understudy(args)
    return server.start()


@pytest.fixture
def daemon():
    server = started([])
    try:
        yield server
    finally:
        server.cleanup()


@pytest.fixture
def daemon_with_idle_timeout():
    server = started(["--timeout", "1"])
    try:
        yield server
    finally:
        server.cleanup()


def connect(server, **kwargs) -> redis.Redis:
    return redis.Redis(host="127.0.0.1", port=server.port, socket_timeout=WAIT_LIMIT_S, **kwargs)


def info_clients(r: redis.Redis) -> dict:
    return r.info("clients")


def wait_until(predicate, what: str, limit_s: float = WAIT_LIMIT_S) -> None:
    """Polls `predicate` (bounded in time) until it is true."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.005)
    raise AssertionError(f"timed out waiting for {what}")


def wait_blocked(r: redis.Redis, count: int) -> None:
    wait_until(lambda: info_clients(r)["blocked_clients"] == count, f"{count} blocked clients")


class Call(threading.Thread):
    """Runs one command on its own connection in a thread and keeps the
    result (or the exception)."""

    def __init__(self, server, fn_name: str, *args, **kwargs):
        super().__init__(daemon=True)
        self.conn = connect(server)
        self.fn = getattr(self.conn, fn_name)
        self.args = args
        self.kwargs = kwargs
        self.result = None
        self.error: Exception | None = None
        self.elapsed: float | None = None

    def run(self) -> None:
        start = time.monotonic()
        try:
            self.result = self.fn(*self.args, **self.kwargs)
        except Exception as exc:  # noqa: BLE001 - reported by the test
            self.error = exc
        self.elapsed = time.monotonic() - start

    def finish(self):
        self.join(WAIT_LIMIT_S)
        assert not self.is_alive(), "blocked call never returned"
        self.conn.close()
        if self.error is not None:
            raise self.error
        return self.result


def start_blocked(
    server, control: redis.Redis, already: int, fn_name: str, *args, **kwargs
) -> Call:
    """Starts a blocking call and waits until the server reports it blocked,
    so that calls started one after another block in that order."""
    call = Call(server, fn_name, *args, **kwargs)
    call.start()
    wait_blocked(control, already + 1)
    return call


def test_three_blocked_clients_wake_in_arrival_order(daemon):
    r = connect(daemon)
    calls = [start_blocked(daemon, r, i, "blpop", ["jobs"], 0) for i in range(3)]
    # One push of three elements serves all three, oldest waiter first.
    assert r.rpush("jobs", "first", "second", "third") == 3
    results = [call.finish() for call in calls]
    assert results == [(b"jobs", b"first"), (b"jobs", b"second"), (b"jobs", b"third")]
    assert r.exists("jobs") == 0
    assert info_clients(r)["blocked_clients"] == 0


def test_push_serves_only_as_many_clients_as_elements(daemon):
    r = connect(daemon)
    calls = [start_blocked(daemon, r, i, "brpop", ["q"], 0) for i in range(3)]
    r.rpush("q", "a", "b")
    assert calls[0].finish() == (b"q", b"b")
    assert calls[1].finish() == (b"q", b"a")
    assert info_clients(r)["blocked_clients"] == 1
    assert calls[2].is_alive()
    r.lpush("q", "c")
    assert calls[2].finish() == (b"q", b"c")


def test_redis_cli_blocked_until_another_client_pushes(daemon):
    r = connect(daemon)
    waiter = subprocess.Popen(
        [REDIS_CLI, "-h", "127.0.0.1", "-p", str(daemon.port), "BLPOP", "mailbox", "other", "30"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        wait_blocked(r, 1)
        assert waiter.poll() is None
        r.rpush("other", "hello")
        out, err = waiter.communicate(timeout=WAIT_LIMIT_S)
    finally:
        if waiter.poll() is None:
            waiter.kill()
            waiter.wait()
    assert out == b"other\nhello\n", err
    assert r.exists("other") == 0


def test_fractional_timeouts_return_null_not_early(daemon):
    r = connect(daemon)
    for timeout in (0.05, 0.2):
        start = time.monotonic()
        assert r.blpop(["nothing"], timeout) is None
        elapsed = time.monotonic() - start
        assert timeout - 0.005 <= elapsed < timeout + 5, elapsed
    # The other commands time out with a null too.
    assert r.brpoplpush("nothing", "dst", 0.05) is None
    assert r.blmove("nothing", "dst", 0.05, "LEFT", "RIGHT") is None
    assert r.bzpopmin(["nothing"], 0.05) is None
    assert r.blmpop(0.05, 1, "nothing", direction="LEFT", count=2) is None
    assert r.exists("dst") == 0
    assert info_clients(r)["blocked_clients"] == 0


def test_timeouts_fire_in_deadline_order_while_a_zero_timeout_waits(daemon):
    r = connect(daemon)
    forever = start_blocked(daemon, r, 0, "blpop", ["k"], 0)
    # Started longest first: the timer must follow the earliest deadline.
    calls = [Call(daemon, "blpop", ["k"], t) for t in (0.6, 0.2, 0.4)]
    for call in calls:
        call.start()
    for call, timeout in zip(calls, (0.6, 0.2, 0.4)):
        assert call.finish() is None
        assert call.elapsed >= timeout - 0.005, (timeout, call.elapsed)
    assert forever.is_alive()
    assert info_clients(r)["blocked_clients"] == 1
    r.rpush("k", "finally")
    assert forever.finish() == (b"k", b"finally")


def test_disconnect_while_blocked_leaves_no_trace(daemon):
    r = connect(daemon)
    raw = socket.create_connection(("127.0.0.1", daemon.port), timeout=WAIT_LIMIT_S)
    raw.sendall(b"*3\r\n$5\r\nBLPOP\r\n$1\r\nk\r\n$1\r\n0\r\n")
    wait_blocked(r, 1)
    connected = info_clients(r)["connected_clients"]
    raw.close()
    wait_until(lambda: info_clients(r)["blocked_clients"] == 0, "the blocked client to go")
    wait_until(lambda: info_clients(r)["connected_clients"] == connected - 1, "the disconnect")
    # Nobody takes the element any more.
    r.rpush("k", "kept")
    assert r.lrange("k", 0, -1) == [b"kept"]


def test_client_kill_and_client_unblock(daemon):
    r = connect(daemon)
    killed = start_blocked(daemon, r, 0, "blpop", ["k"], 0)
    killed_id = next(
        c["id"] for c in r.client_list() if c["cmd"] == "blpop" and "b" in c["flags"]
    )
    assert r.execute_command("CLIENT", "KILL", "ID", killed_id) == 1
    with pytest.raises(redis.exceptions.ConnectionError):
        killed.finish()
    wait_blocked(r, 0)

    timed_out = start_blocked(daemon, r, 0, "bzpopmax", ["z"], 0)
    waiter_id = next(c["id"] for c in r.client_list() if "b" in c["flags"])
    assert r.client_unblock(waiter_id) is True
    assert timed_out.finish() is None

    failed = start_blocked(daemon, r, 0, "brpoplpush", "src", "dst", 0)
    waiter_id = next(c["id"] for c in r.client_list() if "b" in c["flags"])
    assert r.client_unblock(waiter_id, error=True) is True
    with pytest.raises(redis.exceptions.ResponseError, match="UNBLOCKED client unblocked"):
        failed.finish()
    assert r.client_unblock(waiter_id) is False


def test_requests_pipelined_behind_a_blocked_command_run_after_it(daemon):
    r = connect(daemon)
    raw = socket.create_connection(("127.0.0.1", daemon.port), timeout=WAIT_LIMIT_S)
    try:
        raw.sendall(
            b"*3\r\n$5\r\nBLPOP\r\n$1\r\nk\r\n$1\r\n0\r\n"
            b"*1\r\n$4\r\nPING\r\n"
            b"*2\r\n$4\r\nLLEN\r\n$1\r\nk\r\n"
        )
        wait_blocked(r, 1)
        raw.settimeout(0.1)
        with pytest.raises(socket.timeout):
            raw.recv(100)  # nothing while blocked, not even the PING
        r.rpush("k", "a", "b")
        expected = b"*2\r\n$1\r\nk\r\n$1\r\na\r\n+PONG\r\n:1\r\n"
        raw.settimeout(WAIT_LIMIT_S)
        data = b""
        while len(data) < len(expected):
            chunk = raw.recv(1024)
            assert chunk, "connection closed"
            data += chunk
        assert data == expected
    finally:
        raw.close()


def test_bzpopmin_and_bzmpop_with_a_real_push(daemon):
    r = connect(daemon)
    low = start_blocked(daemon, r, 0, "bzpopmin", ["scores"], 5)
    many = start_blocked(daemon, r, 1, "bzmpop", 5, 1, ["scores"], max=True, count=2)
    assert r.zadd("scores", {"a": 1, "b": 2.5, "c": 3, "d": 4}) == 4
    assert low.finish() == (b"scores", b"a", 1.0)
    assert many.finish() == [b"scores", [[b"d", b"4"], [b"c", b"3"]]]
    assert r.zrange("scores", 0, -1, withscores=True) == [(b"b", 2.5)]


def test_blmove_served_element_chains_to_the_next_waiter(daemon):
    r = connect(daemon)
    mover = start_blocked(daemon, r, 0, "blmove", "inbox", "work", 0, "LEFT", "RIGHT")
    worker = start_blocked(daemon, r, 1, "blpop", ["work"], 0)
    r.rpush("inbox", "task")
    assert mover.finish() == b"task"
    assert worker.finish() == (b"work", b"task")
    assert r.exists("inbox", "work") == 0


def test_multi_exec_does_not_block_and_serves_after_exec(daemon):
    r = connect(daemon)
    waiter = start_blocked(daemon, r, 0, "blpop", ["k"], 0)
    pipe = r.pipeline(transaction=True)
    pipe.blpop(["empty"], 0)  # would block forever outside MULTI
    pipe.rpush("k", "x")
    pipe.llen("k")  # the waiter is served only once EXEC is done
    assert pipe.execute() == [None, 1, 1]
    assert waiter.finish() == (b"k", b"x")
    assert r.exists("k") == 0


def test_blocked_client_is_not_closed_as_idle(daemon_with_idle_timeout):
    r = connect(daemon_with_idle_timeout)
    waiter = start_blocked(daemon_with_idle_timeout, r, 0, "blpop", ["k"], 0)
    idle = connect(daemon_with_idle_timeout)
    idle_id = str(idle.client_id())
    assert any(c["id"] == idle_id for c in r.client_list())
    # `timeout 1` closes clients idle for over a second; a blocked one stays.
    start = time.monotonic()
    wait_until(lambda: all(c["id"] != idle_id for c in r.client_list()), "the idle client to go")
    assert time.monotonic() - start >= 0.5
    assert waiter.is_alive()
    r.rpush("k", "still here")
    assert waiter.finish() == (b"k", b"still here")
