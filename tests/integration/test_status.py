"""`understudy --status HOST:PORT` (issue 8, docs/operations.md "Status"):
a compact summary of a running daemon, exit 0 when it is fine, 1 when it
is degraded, 2 when it cannot be reached, 3 on a usage error; colours only
on a terminal.

Real daemons (standalone, and in front of a real redis-server that is then
killed); the status tool is the daemon's own binary.
"""

from __future__ import annotations

import os
import pty
import subprocess

import redis

from support.primary import Primary
from support.proxied import ProxiedUnderstudy, wait_state
from support.servers import HOST, Understudy, free_port, understudy_binary


def status(address: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(understudy_binary()), "--status", address], capture_output=True,
                          text=True, timeout=15, env={**os.environ, **(env or {})})


def test_standalone_is_ok_and_plain_when_piped():
    daemon = Understudy(["--class", "session", "sess:*"])
    daemon.start()
    try:
        redis.Redis(host=HOST, port=daemon.port).set("sess:1", "x")
        result = status(f"{HOST}:{daemon.port}")
        assert result.returncode == 0, result.stdout + result.stderr
        out = result.stdout
        assert "standalone" in out
        assert "degraded  no" in out
        # One line per class with its keys.
        session = next(line for line in out.splitlines() if line.startswith("session "))
        assert session.split()[2] == "1", out
        assert "\033[" not in out  # no colours into a pipe
    finally:
        daemon.cleanup()


def test_colours_on_a_terminal():
    daemon = Understudy()
    daemon.start()
    try:
        controller, terminal = pty.openpty()
        try:
            process = subprocess.Popen(
                [str(understudy_binary()), "--status", f"{HOST}:{daemon.port}"],
                stdout=terminal, stderr=subprocess.DEVNULL)
            os.close(terminal)
            assert process.wait(timeout=15) == 0
            output = b""
            while True:
                try:
                    chunk = os.read(controller, 4096)
                except OSError:  # EIO: the terminal's other side is closed
                    break
                if not chunk:
                    break
                output += chunk
        finally:
            os.close(controller)
        assert b"\033[32m" in output, output  # green: not degraded
    finally:
        daemon.cleanup()


def test_degraded_when_the_primary_is_down():
    primary = Primary()
    primary.start()
    daemon = ProxiedUnderstudy(primary.port, [
        "--class", "session", "sess:*", "mirror", "yes",
        "--primary-probe-interval", "50", "--primary-probe-max-interval", "200"])
    try:
        daemon.start_healthy()
        healthy = status(f"{HOST}:{daemon.port}")
        assert healthy.returncode == 0, healthy.stdout + healthy.stderr
        assert "healthy" in healthy.stdout and "proxy mode" in healthy.stdout

        primary.kill()
        redis.Redis(host=HOST, port=daemon.port, socket_timeout=5).set("sess:a", "1")
        wait_state(daemon, "down", 10.0)
        result = status(f"{HOST}:{daemon.port}")
        assert result.returncode == 1, result.stdout + result.stderr
        out = result.stdout
        assert "primary   down since" in out, out
        assert "degraded  yes" in out, out
        assert "pending" in out  # the journal line
        session = next(line for line in out.splitlines() if line.startswith("session "))
        assert session.split()[3] == "yes", out  # mirrored, with a staleness shown
    finally:
        daemon.cleanup()
        primary.stop()
        primary.cleanup()


def test_unreachable_usage_and_password():
    assert status(f"{HOST}:{free_port()}").returncode == 2
    assert status("no-port-here").returncode == 3
    daemon = Understudy(["--requirepass", "status-pw"], password="status-pw")
    daemon.start()
    try:
        assert status(f"{HOST}:{daemon.port}").returncode == 2  # NOAUTH
        ok = status(f"{HOST}:{daemon.port}", {"REDISCLI_AUTH": "status-pw"})
        assert ok.returncode == 0, ok.stdout + ok.stderr
        assert "status-pw" not in ok.stdout + ok.stderr
    finally:
        daemon.cleanup()
