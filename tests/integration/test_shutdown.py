"""Shutdown (issue 8, docs/operations.md "Shutdown"): SIGTERM makes the
daemon stop accepting, flush and fsync the outage journal (and join the
snapshot writer), and exit 0; what was journaled before the signal is there
after a restart and still reaches the primary.

A real redis-server primary and real understudy processes, each daemon in
its own working directory (the journal lives there). Signals by PID.
"""

from __future__ import annotations

import os
import signal
import socket

import redis

from support.primary import wait_until
from support.proxied import ProxiedUnderstudy, info_understudy, wait_state
from support.resp import RespClient
from support.servers import HOST, Understudy

CLASSES = [
    "--class", "rate", "rl:*", "merge", "counter",
    "--class", "session", "sess:*", "merge", "lww",
    # everysec: records sit in the page cache (or the write buffer) until
    # the next background fsync, so only the shutdown path makes them durable
    # at the moment of the signal.
    "--journal-fsync", "everysec",
    "--primary-probe-interval", "50", "--primary-probe-max-interval", "200",
]


def terminate(server) -> int:
    """SIGTERM by PID; the exit status."""
    process = server.process
    os.kill(process.pid, signal.SIGTERM)
    status = process.wait(timeout=20)
    server.stop()  # closes the harness's log handle; the process is gone
    return status


def refuses(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex((HOST, port)) != 0


def test_sigterm_exits_0_standalone():
    daemon = Understudy()
    daemon.start()
    try:
        r = redis.Redis(host=HOST, port=daemon.port, socket_timeout=5)
        assert r.set("k", "v")
        port = daemon.port
        assert terminate(daemon) == 0
        assert refuses(port)
        assert "ready to exit" in daemon.log_path.read_text()
    finally:
        daemon.cleanup()


def test_sigterm_keeps_journaled_writes_across_a_restart(durable_primary):
    primary = durable_primary
    daemon = ProxiedUnderstudy(primary.port, CLASSES)
    daemon.start_healthy()
    try:
        primary.kill()
        r = redis.Redis(host=HOST, port=daemon.port, socket_timeout=5)
        # The first request finds the primary gone and is answered locally.
        assert r.incr("rl:hits") == 1
        wait_state(daemon, "down", 10.0)
        for _ in range(24):
            r.incr("rl:hits")
        assert r.set("sess:a", "outage-value")
        pending = int(info_understudy(daemon)["journal_records_pending"])
        assert pending >= 26
        assert terminate(daemon) == 0
        journal = daemon.workdir / "understudy-journal.ujl"
        assert journal.stat().st_size > 0

        # Restarted with the primary still down: the journal is read back
        # and the local store holds the outage's writes.
        daemon.start()
        wait_state(daemon, ("down", "suspect"), 10.0)
        info = info_understudy(daemon)
        assert int(info["journal_records_pending"]) == pending, info
        r = redis.Redis(host=HOST, port=daemon.port, socket_timeout=5)
        assert r.get("rl:hits") == b"25"
        assert r.get("sess:a") == b"outage-value"

        # And they still reach the primary once it is back.
        primary.restart()
        wait_state(daemon, "healthy", 20.0)
        wait_until(lambda: info_understudy(daemon)["journal_records_pending"] == "0", 10.0,
                   what="journal reconciled")
        with primary.admin() as direct:
            assert direct.get("rl:hits") == b"25"
            assert direct.get("sess:a") == b"outage-value"
        assert terminate(daemon) == 0
    finally:
        daemon.cleanup()


def test_sigterm_lets_a_request_waiting_on_the_primary_finish(primary):
    # A long primary-timeout: the request waits on the paused primary rather
    # than failing over to a local answer.
    daemon = ProxiedUnderstudy(primary.port, ["--primary-timeout", "10000",
                                              "--shutdown-timeout", "20"])
    daemon.start_healthy()
    try:
        with primary.admin() as direct:
            direct.set("k", "from-primary")
        before = int(info_understudy(daemon)["requests_proxied"])
        conn = RespClient(HOST, daemon.port, timeout=20)
        idle = RespClient(HOST, daemon.port, timeout=20)  # nothing in flight
        primary.pause()
        try:
            conn.send_command([b"GET", b"k"])
            wait_until(lambda: int(info_understudy(daemon)["requests_proxied"]) > before, 10.0,
                       what="the GET sent to the primary")
            os.kill(daemon.process.pid, signal.SIGTERM)
            # The idle connection is closed; new ones are refused; the
            # daemon is still there, waiting for the GET's reply.
            closed, _ = idle.wait_closed(10.0)
            assert closed
            wait_until(lambda: refuses(daemon.port), 10.0, what="the listener closed")
            assert daemon.process.poll() is None
        finally:
            primary.resume()
        assert conn.read_reply(timeout=20) == b"$12\r\nfrom-primary\r\n"
        assert daemon.process.wait(timeout=20) == 0
        conn.close()
        idle.close()
    finally:
        daemon.cleanup()
