"""A script running past busy-reply-threshold: -BUSY, SCRIPT KILL, SHUTDOWN NOSAVE.

Every scenario runs against a real redis-server 7.0 and against understudy
with the same expectations, so the texts are compared byte for byte. The
second client is a separate connection (and, for SCRIPT KILL, the real
redis-cli) opened while the script already runs: the daemon must accept it
and serve it without returning to its event loop.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import time

import pytest

from support.resp import ConnectionClosed, RespClient
from support.servers import RedisServer, Understudy

THRESHOLD_MS = "100"
BUSY = (
    b"-BUSY Redis is busy running a script. You can only call SCRIPT KILL or "
    b"SHUTDOWN NOSAVE.\r\n"
)
UNKILLABLE = (
    b"-UNKILLABLE Sorry the script already executed write commands against the dataset. "
    b"You can either wait the script termination or kill the server in a hard way using "
    b"the SHUTDOWN NOSAVE command.\r\n"
)
LOOP = "local i = 0\nwhile true do i = i + 1 end"
WRITING_LOOP = "redis.call('SET', 'written', '1')\nwhile true do end"


def sha1(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


def killed(script: str, line: int) -> bytes:
    return (
        f"-ERR Script killed by user with SCRIPT KILL... script: {sha1(script)}, "
        f"on @user_script:{line}.\r\n"
    ).encode()


@pytest.fixture(params=["redis", "understudy"])
def server(request):
    kind = RedisServer if request.param == "redis" else Understudy
    srv = kind(["--busy-reply-threshold", THRESHOLD_MS]).start()
    try:
        yield srv
    finally:
        srv.cleanup()


def start_script(srv, script: str) -> RespClient:
    """Sends EVAL `script` on a connection of its own; returns it unread."""
    runner = srv.client(timeout=10.0)
    runner.send_command([b"EVAL", script.encode(), b"0"])
    return runner


def wait_busy(srv) -> RespClient:
    """Opens new connections until one is answered -BUSY; returns it."""
    deadline = time.monotonic() + 10.0
    while time.monotonic() < deadline:
        probe = srv.client(timeout=5.0)
        reply = probe.command("PING")
        if reply == BUSY:
            return probe
        assert reply == b"+PONG\r\n", reply
        probe.close()
        time.sleep(0.02)
    raise AssertionError("the script never made the server busy")


def test_script_kill_stops_a_busy_script(server):
    runner = start_script(server, LOOP)
    other = wait_busy(server)
    # Everything but allow-busy commands is refused, in MULTI too.
    assert other.command("GET", "k") == BUSY
    assert other.command("EVAL", "return 1", "0") == BUSY
    assert other.command("SHUTDOWN") == BUSY
    # SCRIPT KILL from the real redis-cli, a fresh connection.
    cli = shutil.which("redis-cli")
    if cli:
        done = subprocess.run(
            [cli, "-p", str(server.port), "SCRIPT", "KILL"],
            capture_output=True,
            timeout=10,
            check=False,
        )
        assert done.stdout.strip() == b"OK", done
    else:
        assert other.command("SCRIPT", "KILL") == b"+OK\r\n"
    assert runner.read_reply() == killed(LOOP, 2)
    assert other.command("PING") == b"+PONG\r\n"
    assert runner.command("PING") == b"+PONG\r\n"
    assert other.command("SCRIPT", "KILL") == b"-NOTBUSY No scripts in execution right now.\r\n"


def test_script_that_wrote_needs_shutdown_nosave(server):
    runner = start_script(server, WRITING_LOOP)
    other = wait_busy(server)
    assert other.command("SCRIPT", "KILL") == UNKILLABLE
    assert other.command("SHUTDOWN") == BUSY
    other.send_command([b"SHUTDOWN", b"NOSAVE"])
    # The process exits: both connections just close, no reply on either.
    closed, data = other.wait_closed(10.0)
    assert closed and data == b"", data
    try:
        leftover = runner.read_reply(timeout=10.0)
    except ConnectionClosed:
        leftover = b""
    assert leftover == b""
    server.process.wait(timeout=10)
    assert server.process.returncode is not None


def test_busy_threshold_is_a_runtime_setting(server):
    probe = server.client()
    assert probe.command("CONFIG", "GET", "lua-time-limit") == (
        b"*2\r\n$14\r\nlua-time-limit\r\n$3\r\n100\r\n"
    )
    assert probe.command("CONFIG", "SET", "lua-time-limit", "250") == b"+OK\r\n"
    assert probe.command("CONFIG", "GET", "busy-reply-threshold") == (
        b"*2\r\n$20\r\nbusy-reply-threshold\r\n$3\r\n250\r\n"
    )
    # Under the threshold nobody is refused: a short script just runs.
    assert probe.command("EVAL", "return redis.call('PING')", "0") == b"+PONG\r\n"
