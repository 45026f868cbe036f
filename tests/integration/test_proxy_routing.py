"""How understudy routes requests in proxy mode (docs/primary-link.md).

A real redis-server is the primary; understudy runs with `--primary` and key
classes. Each test checks where a request was answered by looking at its
effect on the primary (read directly) or at the reply only understudy gives.
"""

from __future__ import annotations

import socket
import time

import pytest
import redis

from support.primary import Primary, wait_until
from support.proxied import info_understudy, wait_state
from support.servers import HOST, Understudy

TRYAGAIN = "TRYAGAIN primary unavailable"
CLASSES = [
    "--class", "session", "session:*", "mirror", "yes", "merge", "lww",
    "--class", "strict", "strict:*", "outage", "reject",
]


def start_understudy(primary: Primary, *extra: str) -> Understudy:
    daemon = Understudy(["--primary", HOST, str(primary.port), "--primary-probe-max-interval",
                         "200", *CLASSES, *extra])
    daemon.start()
    wait_state(daemon, "healthy")
    return daemon


@pytest.fixture()
def proxy(primary):
    daemon = start_understudy(primary)
    yield daemon
    daemon.stop()
    daemon.cleanup()


def client(daemon: Understudy, **kwargs) -> redis.Redis:
    return redis.Redis(host=HOST, port=daemon.port, socket_timeout=5, **kwargs)


def test_info_reports_proxy_mode_and_classes(proxy, primary):
    fields = info_understudy(proxy)
    assert fields["mode"] == "proxy"
    assert fields["primary_state"] == "healthy"
    assert fields["primary_address"] == f"{HOST}:{primary.port}"
    assert int(fields["primary_transitions"]) >= 2  # down -> recovering -> healthy
    assert fields["class_session"].startswith("pattern=session:*,mirror=yes")
    assert "outage=reject" in fields["class_strict"]
    assert fields["class_default"].startswith("pattern=*,")


def test_key_commands_reach_the_primary_and_counters_move(proxy, primary):
    conn = client(proxy)
    before = int(info_understudy(proxy)["requests_proxied"])
    conn.set("plain:1", "v")
    conn.hset("session:9", mapping={"user": "ann"})
    with primary.admin() as direct:
        assert direct.get("plain:1") == b"v"
        assert direct.hgetall("session:9") == {b"user": b"ann"}
    fields = info_understudy(proxy)
    assert int(fields["requests_proxied"]) >= before + 2
    # The mirrored class's acknowledged write was applied locally too.
    assert int(fields["writes_applied_locally"]) >= 1


def test_commands_understudy_lacks_are_forwarded(proxy, primary):
    conn = client(proxy)
    entry = conn.xadd("stream:1", {"a": "1"})
    assert conn.pfadd("hll:1", "x", "y") == 1
    with primary.admin() as direct:
        assert direct.xrange("stream:1")[0][0] == entry
        assert direct.pfcount("hll:1") == 2


def test_connection_commands_are_answered_locally(proxy, primary):
    conn = client(proxy)
    conn.client_setname("app-1")
    assert conn.client_getname() == "app-1"
    # The name is understudy's, not sent to the primary's shared connection.
    with primary.admin() as direct:
        names = [c.get("name") for c in direct.client_list()]
    assert "app-1" not in names
    assert info_understudy(proxy)["mode"] == "proxy"


def test_unknown_subcommand_of_a_local_command_is_not_forwarded(proxy, primary):
    conn = client(proxy)
    with pytest.raises(redis.ResponseError, match="unknown subcommand 'TRACKING'"):
        conn.execute_command("CLIENT", "TRACKING", "ON")
    with primary.admin() as direct:
        for entry in direct.client_list():
            if entry.get("name") == "understudy-mirror":
                continue  # the mirror's own tracking connection (BCAST)
            assert "t" not in entry.get("flags", "")  # no tracking turned on upstream


def test_replication_commands_are_refused(proxy):
    conn = client(proxy)
    with pytest.raises(redis.ResponseError, match="does not proxy 'PSYNC'"):
        conn.execute_command("PSYNC", "?", "-1")


def test_monitor_is_tunnelled_to_the_primary(proxy, primary):
    with socket.create_connection((HOST, proxy.port), timeout=3) as monitor:
        monitor.sendall(b"MONITOR\r\n")
        assert monitor.recv(100).startswith(b"+OK")
        with primary.admin() as direct:
            direct.set("seen-by-monitor", "1")
        deadline = time.monotonic() + 3
        seen = b""
        while b"seen-by-monitor" not in seen and time.monotonic() < deadline:
            seen += monitor.recv(4096)
        assert b"seen-by-monitor" in seen
    # The shared connections were not turned into monitors: commands still work.
    assert client(proxy).set("after-monitor", "1")


def test_select_pins_a_connection_to_that_database(proxy, primary):
    conn = client(proxy, db=3)
    conn.set("in-db-3", "yes")
    with primary.admin() as direct:
        assert direct.get("in-db-3") is None
        direct.select(3)
        assert direct.get("in-db-3") == b"yes"
    assert int(info_understudy(proxy)["upstream_pinned_connections"]) >= 1


def test_pinned_connections_are_bounded(primary):
    daemon = start_understudy(primary, "--primary-pinned-max", "1")
    try:
        first = client(daemon, db=1)
        first.set("k", "1")  # holds the only pinned connection
        second = client(daemon, db=2)
        with pytest.raises(redis.ResponseError, match="primary-pinned-max"):
            second.set("k", "2")
        # Ordinary clients still go through the shared connections.
        assert client(daemon).set("shared", "1")
        first.close()
        second.close()
    finally:
        daemon.stop()
        daemon.cleanup()


def test_outage_serves_locally_rejects_strict_and_unknown(proxy, primary):
    conn = client(proxy)
    conn.set("session:1", "before")
    primary.kill()
    # Served from the local store: the mirrored write was applied there.
    assert conn.get("session:1") == b"before"
    conn.set("plain:2", "during")
    assert conn.get("plain:2") == b"during"
    with pytest.raises(redis.ResponseError, match=TRYAGAIN):
        conn.get("strict:1")
    # The strictest class wins for a multi-key command.
    with pytest.raises(redis.ResponseError, match=TRYAGAIN):
        conn.mset({"plain:3": "x", "strict:3": "y"})
    assert conn.get("plain:3") is None
    # Commands only the primary can run.
    with pytest.raises(redis.ResponseError, match=TRYAGAIN):
        conn.xadd("stream:2", {"a": "1"})
    fields = info_understudy(proxy)
    assert fields["primary_state"] == "down"
    assert int(fields["requests_rejected"]) >= 3
    assert int(fields["requests_local"]) >= 3
    # Back to proxying once the primary answers again.
    primary.restart()
    wait_state(proxy, "healthy")
    conn.set("plain:4", "after")
    with primary.admin() as direct:
        assert direct.get("plain:4") == b"after"


def test_transaction_is_sent_as_one_block_and_runs_locally_in_an_outage(proxy, primary):
    conn = client(proxy)
    pipe = conn.pipeline(transaction=True)
    pipe.set("tx:1", "a").incr("tx:n").get("tx:1")
    assert pipe.execute() == [True, 1, b"a"]
    with primary.admin() as direct:
        assert direct.get("tx:n") == b"1"
    primary.kill()
    pipe = conn.pipeline(transaction=True)
    pipe.set("tx:2", "b").get("tx:2")
    assert pipe.execute() == [True, b"b"]
    primary.restart()
    wait_state(proxy, "healthy")
