"""The outage journal and reconciliation (issue 6, docs/journal.md,
docs/reconciliation.md): what clients write through understudy while the
primary is down is journaled, survives a SIGKILL of the daemon, and reaches
the primary once it is back, with each class's merge rule, exactly once.

A real redis-server primary (appendonly, fsync always, so that a restart
keeps its data) and real understudy processes; faults are SIGKILLs by PID.
"""

from __future__ import annotations

import os
import signal

import pytest
import redis

from support.primary import Primary, wait_until
from support.proxied import ProxiedUnderstudy, info_understudy, wait_state
from support.servers import HOST

CLASSES = [
    "--class", "blacklist", "bl:*", "mirror", "yes", "merge", "union",
    "--class", "session", "sess:*", "mirror", "yes", "merge", "lww",
    "--class", "rate", "rl:*", "mirror", "yes", "merge", "counter",
    "--primary-probe-interval", "50", "--primary-probe-max-interval", "200",
]



def client(daemon) -> redis.Redis:
    return redis.Redis(host=HOST, port=daemon.port, socket_timeout=5)


def start_host(primary: Primary, extra: list[str] | None = None) -> ProxiedUnderstudy:
    return ProxiedUnderstudy(primary.port, [*CLASSES, *(extra or [])]).start_mirror_live()


def kill_daemon(daemon: ProxiedUnderstudy) -> None:
    """SIGKILL by PID: no shutdown code runs, as in a crash."""
    os.kill(daemon.process.pid, signal.SIGKILL)
    daemon.process.wait(timeout=10)
    daemon.stop()


def test_outage_writes_reach_the_primary_with_each_class_rule(durable_primary):
    primary = durable_primary
    with primary.admin() as direct:
        direct.sadd("bl:set", "t0")
        direct.set("sess:a", "v0")
        direct.set("sess:gone", "x")
        direct.set("rl:x", 10)
    daemon = start_host(primary)
    try:
        r = client(daemon)
        primary.kill()
        # The outage: every write below is answered locally and journaled.
        assert r.sadd("bl:set", "t1", "t2") == 2
        assert r.set("bl:tok", "1", ex=600)
        assert r.srem("bl:set", "t0") == 1  # a union class never loses a member
        assert r.set("sess:a", "v1")
        assert r.set("sess:new", "n", ex=300)
        assert r.delete("sess:gone") == 1
        for _ in range(5):
            r.incr("rl:x")
        assert r.incrby("rl:y", 7) == 7
        assert r.expire("rl:y", 100)
        info = info_understudy(daemon)
        assert info["journal_outage"] == "1"
        assert int(info["journal_records_pending"]) >= 11

        primary.restart()
        wait_state(daemon, "healthy", 15.0)
        info = info_understudy(daemon)
        assert info["journal_outage"] == "0"
        assert info["journal_records_pending"] == "0"
        assert int(info["reconcile_replayed"]) >= 11
        with primary.admin() as direct:
            assert direct.smembers("bl:set") == {b"t0", b"t1", b"t2"}
            assert 590_000 < direct.pttl("bl:tok") <= 600_000
            assert direct.get("sess:a") == b"v1"
            assert direct.get("sess:new") == b"n"
            assert 290_000 < direct.pttl("sess:new") <= 300_000
            assert direct.exists("sess:gone") == 0
            assert direct.get("rl:x") == b"15"  # 10 + five increments, not SET 15 over it
            assert direct.get("rl:y") == b"7"
            assert 0 < direct.pttl("rl:y") <= 100_000
        # Healthy again: requests go to the primary.
        assert r.get("sess:a") == b"v1"
    finally:
        daemon.stop()


def test_counter_increments_are_added_to_what_other_hosts_did(durable_primary):
    primary = durable_primary
    daemon = start_host(primary)
    try:
        r = client(daemon)
        r.set("rl:shared", 100)
        primary.kill()
        for _ in range(3):
            r.incr("rl:shared")
        primary.restart()
        # Another host added 40 meanwhile, straight on the primary, before
        # this one reconciles (the probe interval leaves it time).
        with primary.admin() as direct:
            direct.incrby("rl:shared", 40)
        wait_state(daemon, "healthy", 15.0)
        with primary.admin() as direct:
            assert direct.get("rl:shared") == b"143"
    finally:
        daemon.stop()


def test_daemon_killed_mid_outage_restarts_serving_and_reconciles_exactly_once(durable_primary):
    primary = durable_primary
    with primary.admin() as direct:
        direct.sadd("bl:before", "m")
        direct.set("rl:n", 1000)
    daemon = start_host(primary)
    try:
        r = client(daemon)
        primary.kill()
        # The store as the outage found it is snapshotted off the loop; a
        # crash before that lands restores from the previous snapshot
        # (docs/journal.md), so wait for it here.
        wait_until(lambda: "snapshot understudy-snapshot.uss: 2 keys written"
                   in daemon.log_path.read_text(errors="replace"), 5.0, what="snapshot")
        assert r.sadd("bl:during", "x") == 1
        for _ in range(3):
            r.incr("rl:n")
        assert r.set("sess:s", "v", px=600_000)
        kill_daemon(daemon)

        # A torn last record, as a crash in the middle of a write leaves it.
        journal = daemon.workdir / "understudy-journal.ujl"
        with open(journal, "ab") as f:
            f.write(b"\x40\x00\x00\x00\x12\x34")
        daemon.start()  # same working directory: same journal and snapshot
        r = client(daemon)
        log = daemon.log_path.read_text(errors="replace")
        assert "torn tail cut off" in log
        # Served from snapshot + journal while the primary is still down.
        assert r.sismember("bl:before", "m")
        assert r.sismember("bl:during", "x")
        assert r.get("rl:n") == b"1003"
        assert r.get("sess:s") == b"v"
        assert 0 < r.pttl("sess:s") <= 600_000
        assert r.incr("rl:n") == 1004

        primary.restart()
        wait_state(daemon, "healthy", 15.0)
        with primary.admin() as direct:
            assert direct.get("rl:n") == b"1004"
            assert direct.sismember("bl:during", "x")
            assert direct.get("sess:s") == b"v"
        # Once reconciled, a crash and restart replays nothing again.
        kill_daemon(daemon)
        daemon.start()
        wait_state(daemon, "healthy", 15.0)
        assert info_understudy(daemon)["journal_records_pending"] == "0"
        with primary.admin() as direct:
            assert direct.get("rl:n") == b"1004"
    finally:
        daemon.stop()


def test_full_journal_turns_writes_away_and_says_so(durable_primary):
    primary = durable_primary
    daemon = start_host(primary, ["--journal-max-bytes", "4096"])
    try:
        r = client(daemon)
        primary.kill()
        accepted = 0
        with pytest.raises(redis.ResponseError,
                           match="^TRYAGAIN primary unavailable and the outage journal is full$"):
            for i in range(1000):
                r.set(f"sess:{i}", "x" * 50)
                accepted += 1
        assert 10 < accepted < 100
        assert r.get("sess:0") == b"x" * 50  # reads still served
        info = info_understudy(daemon)
        assert info["journal_full"] == "1"
        assert int(info["journal_refused_full"]) >= 1
        assert "is full" in daemon.log_path.read_text(errors="replace")
        primary.restart()
        wait_state(daemon, "healthy", 15.0)
        with primary.admin() as direct:
            assert direct.get(f"sess:{accepted - 1}") == b"x" * 50
            assert direct.exists(f"sess:{accepted}") == 0
        assert info_understudy(daemon)["journal_full"] == "0"
    finally:
        daemon.stop()


def test_primary_that_lost_its_data_gets_the_union_keys_back(primary):
    # `primary` keeps nothing across a restart: it comes back empty, with a
    # new replication ID.
    with primary.admin() as direct:
        direct.sadd("bl:set", "t1", "t2")
        direct.set("bl:tok", "1", px=600_000)
        direct.set("sess:a", "v")
    daemon = start_host(primary)
    try:
        wait_until(lambda: info_understudy(daemon)["class_blacklist"].count("keys=2") == 1, 5.0,
                   what="union keys mirrored")
        primary.kill()
        primary.restart()
        wait_state(daemon, "healthy", 15.0)
        with primary.admin() as direct:
            assert direct.smembers("bl:set") == {b"t1", b"t2"}
            assert direct.get("bl:tok") == b"1"
            assert 0 < direct.pttl("bl:tok") <= 600_000
            # lww keys are not written back: the primary's state stands.
            assert direct.exists("sess:a") == 0
        assert "came back with another replication ID" in daemon.log_path.read_text(
            errors="replace")
        assert info_understudy(daemon)["journal_records_pending"] == "0"
    finally:
        daemon.stop()


def test_a_starting_daemon_sends_its_first_writes_to_a_healthy_primary(primary):
    """Clients are admitted once the first probe is in: a write that a
    starting daemon answered from its empty local store would later replace
    the primary's whole lww key (here: the hash would lose field a)."""
    with primary.admin() as direct:
        direct.hset("sess:h", mapping={"a": "1"})
    for _ in range(5):
        daemon = ProxiedUnderstudy(primary.port, CLASSES)
        daemon.start()  # returns at the first PING answered
        try:
            assert client(daemon).hset("sess:h", "b", "2") in (0, 1)
            wait_state(daemon, "healthy", 10.0)
            assert info_understudy(daemon)["journal_records_pending"] == "0"
            with primary.admin() as direct:
                assert direct.hgetall("sess:h") == {b"a": b"1", b"b": b"2"}
                direct.hdel("sess:h", "b")
        finally:
            daemon.stop()
            daemon.cleanup()
