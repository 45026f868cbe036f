"""Lua scripts in proxy mode (issue 7; docs/scripting.md, "With a primary"):
while the primary is healthy EVAL/EVALSHA/SCRIPT go to it and understudy
remembers every script body it sees go by; when the primary is killed,
EVALSHA runs locally with the remembered body; a primary that lost its
scripts (restart) and answers -NOSCRIPT gets the body again, transparently;
SCRIPT FLUSH reaches the primary and empties the local cache too; a
script's writes during an outage are journaled as the commands it ran (not
as EVAL) and replayed with each class's merge rule; a script declaring a key
of an `outage reject` class is refused during an outage.

Real redis-server primaries and real understudy processes, each in its own
working directory; faults are SIGKILLs by PID (support/primary.py).
"""

from __future__ import annotations

import hashlib

import pytest
import redis

from support.primary import Primary, wait_until
from support.proxied import ProxiedUnderstudy, info_understudy, wait_state
from support.servers import HOST

FAST_PROBES = ["--primary-probe-interval", "50", "--primary-probe-max-interval", "200"]
CLASSES = [
    "--class", "blacklist", "bl:*", "mirror", "yes", "merge", "union",
    "--class", "session", "sess:*", "mirror", "yes", "merge", "lww",
    "--class", "rate", "rl:*", "mirror", "yes", "merge", "counter",
    "--class", "secret", "secret:*", "outage", "reject",
]

INCR_BODY = "return redis.call('INCR', KEYS[1])"


def client(daemon) -> redis.Redis:
    return redis.Redis(host=HOST, port=daemon.port, socket_timeout=5)


def start_host(primary: Primary, extra: list[str] | None = None) -> ProxiedUnderstudy:
    return ProxiedUnderstudy(primary.port,
                             [*CLASSES, *FAST_PROBES, *(extra or [])]).start_mirror_live()


def kill_primary(primary: Primary, daemon: ProxiedUnderstudy) -> None:
    primary.kill()
    wait_state(daemon, ("down", "suspect"), 10.0)


def recover(primary: Primary, daemon: ProxiedUnderstudy) -> dict[str, str]:
    """Restarts the primary; waits until understudy reconciled and is healthy."""
    primary.restart()
    wait_state(daemon, "healthy", 20.0)

    def replayed() -> dict[str, str] | None:
        fields = info_understudy(daemon)
        return fields if fields["journal_records_pending"] == "0" else None

    return wait_until(replayed, 10.0, what="journal replayed")


def test_evalsha_uses_the_remembered_script_once_the_primary_is_killed(primary):
    daemon = start_host(primary)
    try:
        r = client(daemon)
        seen_by_eval = "return {KEYS[1], ARGV[1], redis.call('INCR', KEYS[1])}"
        loaded_here = "return redis.call('INCRBY', KEYS[1], ARGV[1])"
        loaded_on_primary = "return 'direct'"
        # Healthy: proxied, so the primary runs them (and caches them).
        # (rl:* is mirrored, so the local store follows the primary.)
        assert r.eval(seen_by_eval, 1, "rl:a", "x") == [b"rl:a", b"x", 1]
        sha_here = r.script_load(loaded_here)
        with primary.admin() as direct:
            sha_direct = direct.script_load(loaded_on_primary)
            assert direct.get("rl:a") == b"1"
            assert direct.script_exists(sha_here) == [True]
        sha_eval = hashlib.sha1(seen_by_eval.encode()).hexdigest()

        kill_primary(primary, daemon)
        # The outage: both scripts that went by through understudy run here.
        assert r.evalsha(sha_eval, 1, "rl:a", "y") == [b"rl:a", b"y", 2]
        assert r.evalsha(sha_here, 1, "rl:b", "5") == 5
        assert r.script_exists(sha_eval, sha_here, sha_direct) == [True, True, False]
        # One loaded straight on the primary is unknown here: -NOSCRIPT, and
        # a library's script object falls back to loading it (locally now).
        with pytest.raises(redis.exceptions.NoScriptError):
            r.evalsha(sha_direct, 0)
        assert r.register_script(loaded_on_primary)() == b"direct"
        assert int(info_understudy(daemon)["requests_rejected"]) == 0
    finally:
        daemon.stop()


def test_noscript_after_a_primary_restart_is_answered_by_sending_the_body(primary):
    # `primary` keeps nothing across a restart: its script cache is empty.
    daemon = start_host(primary)
    try:
        r = client(daemon)
        sha = r.script_load(INCR_BODY)
        assert r.evalsha(sha, 1, "rl:n") == 1
        primary.restart()
        wait_state(daemon, "healthy", 20.0)
        with primary.admin() as direct:
            assert direct.script_exists(sha) == [False]
            direct.set("rl:n", 10)
        before = int(info_understudy(daemon)["scripts_reloaded_on_primary"])
        # Pipelined: each EVALSHA meets -NOSCRIPT on the primary and is sent
        # again as EVAL; the client sees the scripts' replies, in order.
        pipe = r.pipeline(transaction=False)
        pipe.evalsha(sha, 1, "rl:n")
        pipe.evalsha(sha, 1, "rl:n")
        pipe.ping()
        pipe.evalsha("0" * 40, 0)  # unknown here too: the error passes through
        replies = pipe.execute(raise_on_error=False)
        assert replies[:3] == [11, 12, True]
        assert isinstance(replies[3], redis.exceptions.NoScriptError)
        info = info_understudy(daemon)
        assert int(info["scripts_reloaded_on_primary"]) >= before + 1
        with primary.admin() as direct:
            assert direct.script_exists(sha) == [True]
            assert direct.get("rl:n") == b"12"
        # Mirrored keys: the script's effect was applied locally too.
        wait_until(lambda: int(info_understudy(daemon)["writes_applied_locally"]) >= 2, 5.0,
                   what="write-through")

        # Inside MULTI the primary's -NOSCRIPT is passed through (the
        # transaction ran on the primary as it was sent).
        primary.restart()
        wait_state(daemon, "healthy", 20.0)
        pipe = r.pipeline(transaction=True)
        pipe.incr("rl:t")
        pipe.evalsha(sha, 1, "rl:t")
        replies = pipe.execute(raise_on_error=False)
        assert replies[0] == 1
        assert isinstance(replies[1], redis.exceptions.NoScriptError)
    finally:
        daemon.stop()


def test_script_flush_reaches_the_primary_and_empties_the_local_cache(primary):
    daemon = start_host(primary)
    try:
        r = client(daemon)
        sha = r.script_load(INCR_BODY)
        assert r.script_exists(sha) == [True]
        assert r.script_flush() is True
        with primary.admin() as direct:
            assert direct.script_exists(sha) == [False]
        assert r.script_exists(sha) == [False]
        kill_primary(primary, daemon)
        # The local cache was emptied with the primary's.
        assert r.script_exists(sha) == [False]
        with pytest.raises(redis.exceptions.NoScriptError):
            r.evalsha(sha, 1, "rl:f")
    finally:
        daemon.stop()


def test_script_writes_during_an_outage_are_replayed_with_each_class_rule(durable_primary):
    primary = durable_primary
    with primary.admin() as direct:
        direct.sadd("bl:set", "t0")
        direct.set("sess:a", "v0")
        direct.set("rl:x", 10)
    daemon = start_host(primary)
    try:
        r = client(daemon)
        script = r.register_script(
            "redis.call('SADD', KEYS[1], ARGV[1])\n"
            "redis.call('SREM', KEYS[1], 't0')\n"
            "redis.call('SET', KEYS[2], ARGV[2], 'EX', 300)\n"
            "redis.call('INCRBY', KEYS[3], 5)\n"
            "return redis.call('INCR', KEYS[3])\n")
        keys = ["bl:set", "sess:a", "rl:x"]
        assert script(keys=keys, args=["t1", "v1"]) == 16  # proxied: the primary ran it
        with primary.admin() as direct:
            assert direct.get("rl:x") == b"16"
            direct.sadd("bl:set", "t0")  # as before the script, for the union check below
        wait_until(lambda: r.scard("bl:set") == 2, 5.0, what="mirror caught up")

        kill_primary(primary, daemon)
        written = int(info_understudy(daemon)["journal_records_written"])
        assert script(keys=keys, args=["t2", "v2"]) == 22
        # Journaled as its effects: one record per write it ran (SADD, SREM,
        # SET, INCRBY, INCR), never the EVALSHA itself.
        after_one = int(info_understudy(daemon)["journal_records_written"])
        assert after_one - written == 5
        # A script in a transaction during the outage: effects journaled too.
        pipe = r.pipeline(transaction=True)
        pipe.evalsha(script.sha, 3, *keys, "t3", "v3")
        pipe.incr("rl:x")
        assert pipe.execute() == [28, 29]
        assert int(info_understudy(daemon)["journal_records_written"]) - after_one == 6
        # A script that fails half way keeps what it wrote before the error
        # (as Redis does), and that part is journaled.
        with pytest.raises(redis.exceptions.ResponseError):
            r.eval("redis.call('INCR', KEYS[1]) return redis.call('HSET', KEYS[1], 'f', 'v')",
                   1, "rl:x")
        assert r.get("rl:x") == b"30"

        info = recover(primary, daemon)
        assert info["journal_outage"] == "0"
        with primary.admin() as direct:
            # union: additions only; the scripts' SREMs are not replayed.
            assert direct.smembers("bl:set") == {b"t0", b"t1", b"t2", b"t3"}
            # lww: the final local state.
            assert direct.get("sess:a") == b"v3"
            assert 0 < direct.ttl("sess:a") <= 300
            # counter: 16 before, then 6 + 6 + 1 + 1 during the outage.
            assert direct.get("rl:x") == b"30"
    finally:
        daemon.stop()


def test_a_script_declaring_a_key_of_an_outage_reject_class_is_refused(primary):
    daemon = start_host(primary)
    try:
        r = client(daemon)
        read = "return redis.call('GET', KEYS[1])"
        sha = r.script_load(read)
        kill_primary(primary, daemon)
        rejected = int(info_understudy(daemon)["requests_rejected"])
        for call in (lambda: r.eval(read, 1, "secret:x"),
                     lambda: r.evalsha(sha, 1, "secret:x"),
                     lambda: r.eval(read, 2, "rl:ok", "secret:y"),
                     lambda: r.eval_ro(read, 1, "secret:x")):
            with pytest.raises(redis.exceptions.ResponseError, match="TRYAGAIN"):
                call()
        assert int(info_understudy(daemon)["requests_rejected"]) == rejected + 4
        # Keys of serving classes, and keyless scripts (the default class
        # serves), run locally.
        assert r.evalsha(sha, 1, "rl:ok") is None
        assert r.eval("return 7", 0) == 7
    finally:
        daemon.stop()


def test_keyless_scripts_follow_the_default_class(primary):
    daemon = ProxiedUnderstudy(primary.port, ["--class", "all", "*", "outage", "reject",
                                              *FAST_PROBES])
    daemon.start_healthy()
    try:
        r = client(daemon)
        assert r.eval("return 7", 0) == 7  # healthy: the primary answers
        kill_primary(primary, daemon)
        with pytest.raises(redis.exceptions.ResponseError, match="TRYAGAIN"):
            r.eval("return 7", 0)
    finally:
        daemon.stop()


def test_read_only_scripts_are_not_answered_from_the_near_cache(primary):
    daemon = ProxiedUnderstudy(primary.port, [
        "--class", "token", "token:*", "mirror", "yes", "near-cache", "yes", "merge", "union",
        *FAST_PROBES])
    daemon.start_healthy()
    try:
        wait_until(lambda: info_understudy(daemon)["mirror_state"] == "live", 10.0,
                   what="mirror live")
        r = client(daemon)
        with primary.admin() as direct:
            direct.set("token:a", "1")
        wait_until(lambda: r.get("token:a") == b"1", 5.0, what="mirror caught up")
        proxied = int(info_understudy(daemon)["requests_proxied"])
        assert r.get("token:a") == b"1"  # the near cache answers a GET...
        assert int(info_understudy(daemon)["requests_proxied"]) == proxied
        read = "return redis.call('GET', KEYS[1])"
        assert r.eval_ro(read, 1, "token:a") == b"1"
        assert r.evalsha_ro(hashlib.sha1(read.encode()).hexdigest(), 1, "token:a") == b"1"
        # ...but not a read-only script: both went to the primary.
        assert int(info_understudy(daemon)["requests_proxied"]) == proxied + 2
        with primary.admin() as direct:
            stats = direct.info("commandstats")
        assert stats["cmdstat_eval_ro"]["calls"] == 1
        assert stats["cmdstat_evalsha_ro"]["calls"] == 1
    finally:
        daemon.stop()
