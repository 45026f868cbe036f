"""Real clients through the proxy: redis-cli and redis-py talk to understudy
started with `--primary` in front of a real redis-server, and every effect is
checked on the PRIMARY directly (never through understudy).

One primary serves the whole module and is flushed before each test; each
test gets a fresh understudy in front of it (so that a bug seen by one test
cannot spoil the next). Every process is stopped by its PID. Each test also
checks, when it ends, that the primary link stayed healthy throughout (no
reply came from the local store by accident) and that understudy's
connections to the primary are clean shared ones again: database 0, no
subscription, no transaction, understudy's name (CLIENT LIST on the primary).
"""

from __future__ import annotations

import shutil
import subprocess
import threading
import time

import pytest
import redis

from support.proxied import ProxiedUnderstudy, dirty_upstream, info_understudy, wait_state
from support.resp import RespClient, parse_reply
from support.servers import HOST, RedisServer

REDIS_CLI = shutil.which("redis-cli")
# The client name of the tests' own connections to the primary.
DIRECT_CLIENT_NAME = "proxytests-direct"


class Setup:
    """The primary, and the understudy of the test running now."""

    def __init__(self):
        self.primary = RedisServer()
        self.primary.label = "redis-primary"
        self.primary.start()
        self.proxy: ProxiedUnderstudy | None = None

    def via_proxy(self, **kwargs) -> redis.Redis:
        """A redis-py client of understudy."""
        return redis.Redis(host=HOST, port=self.proxy.port, socket_timeout=10, **kwargs)

    def direct(self, **kwargs) -> redis.Redis:
        """A redis-py client of the primary itself (named, so that its
        connections are told apart from understudy's)."""
        return redis.Redis(host=HOST, port=self.primary.port, socket_timeout=10,
                           client_name=DIRECT_CLIENT_NAME, **kwargs)

    def cleanup(self):
        self.primary.cleanup()


@pytest.fixture(scope="module")
def setup():
    started = Setup()
    try:
        yield started
    finally:
        started.cleanup()


@pytest.fixture
def env(setup):
    """An empty primary and a fresh understudy with a healthy link to it;
    checks when the test ends that the link stayed healthy and left clean
    upstream connections."""
    assert setup.primary.is_alive(), setup.primary.log_tail()
    with setup.direct() as admin:
        admin.flushall()
    setup.proxy = ProxiedUnderstudy(setup.primary.port)
    try:
        setup.proxy.start()
        before = wait_state(setup.proxy, "healthy")
        upstream_before = upstream_connections(setup)
        yield setup
        assert setup.proxy.is_alive(), setup.proxy.log_tail()
        after = info_understudy(setup.proxy)
        assert after["primary_transitions"] == before["primary_transitions"], (
            f"the primary link changed state during the test: {after}")
        assert after["primary_state"] == "healthy", after
        # The test's clients are gone: understudy's connections to the
        # primary must be clean shared ones (pinned ones get time to close).
        deadline = time.monotonic() + 2.0
        while True:
            problems = dirty_upstream(upstream_connections(setup), upstream_before)
            if not problems or time.monotonic() >= deadline:
                break
            time.sleep(0.02)
        assert not problems, f"upstream connections left changed on the primary: {problems}"
    finally:
        setup.proxy.cleanup()
        setup.proxy = None


def upstream_connections(setup) -> dict[str, dict[str, str]]:
    """understudy's connections to the primary (CLIENT LIST there, by id):
    all but the test's own direct ones."""
    with setup.direct() as primary:
        return {str(c["id"]): {k: str(v) for k, v in c.items()}
                for c in primary.client_list() if c.get("name") != DIRECT_CLIENT_NAME}


def cli(port: int, *args: str, stdin: bytes | None = None,
        timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([REDIS_CLI, "-h", HOST, "-p", str(port), *args], input=stdin,
                          capture_output=True, timeout=timeout, check=False)


def wait_until(predicate, timeout_s: float = 5.0, what: str = "condition"):
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{what} not reached within {timeout_s}s")
        time.sleep(0.01)


# ------------------------------------------------------------------ redis-cli

def test_redis_cli_commands_land_on_the_primary(env):
    port = env.proxy.port
    assert cli(port, "SET", "greeting", "hello").stdout == b"OK\n"
    assert cli(port, "GET", "greeting").stdout == b"hello\n"
    assert cli(port, "INCRBY", "n", "41").stdout == b"41\n"
    # A command understudy does not implement is forwarded unchanged.
    assert cli(port, "PFADD", "hll", "a", "b", "c").stdout == b"1\n"
    result = cli(port, stdin=b"SET a 1\nINCR a\nGET a\nPING\nRPUSH l x y\nLRANGE l 0 -1\n")
    assert result.stdout.split() == [b"OK", b"2", b"2", b"PONG", b"2", b"x", b"y"], result
    assert result.stderr == b""
    with env.direct() as primary:
        assert primary.get("greeting") == b"hello"
        assert primary.get("n") == b"41"
        assert primary.get("a") == b"2"
        assert primary.pfcount("hll") == 3
        assert primary.lrange("l", 0, -1) == [b"x", b"y"]
    # Errors come back as the primary words them.
    direct = cli(env.primary.port, "INCR", "greeting")
    proxied = cli(port, "INCR", "greeting")
    assert proxied.stdout == direct.stdout and b"ERR" in proxied.stdout


def test_redis_cli_pipe_of_10k_keys_reaches_the_primary(env):
    count = 10_000
    chunks = []
    for i in range(count):
        key = b"key:%05d" % i
        value = b"value-%d" % i
        chunks.append(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n"
                      % (len(key), key, len(value), value))
    result = cli(env.proxy.port, "--pipe", stdin=b"".join(chunks), timeout=120)
    assert result.returncode == 0, result.stderr
    assert b"errors: 0, replies: 10000" in result.stdout, result.stdout
    with env.direct() as primary:
        assert primary.dbsize() == count
        assert primary.get("key:00000") == b"value-0"
        assert primary.get("key:09999") == b"value-9999"
        sample = primary.mget([f"key:{i:05d}" for i in range(0, count, 997)])
        assert sample == [b"value-%d" % i for i in range(0, count, 997)]


# ------------------------------------------------------------------ redis-py

def test_redis_py_plain_commands(env):
    with env.via_proxy() as r, env.direct() as primary:
        assert r.ping() is True
        assert r.set("s", "v") is True
        assert r.get("s") == b"v"
        assert r.set("s", "w", nx=True) is None
        assert r.incrby("counter", 9) == 9
        assert r.incrbyfloat("f", 1.5) == 1.5
        assert r.mset({"a": "1", "b": "2"}) is True
        assert r.mget(["a", "b", "missing"]) == [b"1", b"2", None]
        assert r.expire("a", 100) is True
        assert 0 < r.ttl("a") <= 100
        assert r.hset("h", mapping={"f1": "x", "f2": "y"}) == 2
        assert r.hgetall("h") == {b"f1": b"x", b"f2": b"y"}
        assert r.sadd("set", "m1", "m2") == 2
        assert r.smembers("set") == {b"m1", b"m2"}
        assert r.zadd("z", {"one": 1, "two": 2}) == 2
        assert r.zrange("z", 0, -1, withscores=True) == [(b"one", 1.0), (b"two", 2.0)]
        assert r.lpush("list", "c", "b", "a") == 3
        # Not implemented by understudy: streams, geo, bitmaps are proxied.
        stream_id = r.xadd("stream", {"field": "value"})
        assert r.xlen("stream") == 1
        assert r.setbit("bits", 7, 1) == 0
        assert r.geoadd("geo", (13.361389, 38.115556, "Palermo")) == 1
        assert r.dbsize() == 12
        with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
            r.incr("h")

        assert primary.get("s") == b"v"
        assert primary.get("counter") == b"9"
        assert primary.get("f") == b"1.5"
        assert 0 < primary.ttl("a") <= 100
        assert primary.hgetall("h") == {b"f1": b"x", b"f2": b"y"}
        assert primary.smembers("set") == {b"m1", b"m2"}
        assert primary.zscore("z", "two") == 2.0
        assert primary.lrange("list", 0, -1) == [b"a", b"b", b"c"]
        assert primary.xrange("stream")[0][0] == stream_id
        assert primary.getbit("bits", 7) == 1
        assert primary.geopos("geo", "Palermo")[0] is not None
        assert primary.dbsize() == 12


def test_redis_py_pipeline_without_transaction(env):
    with env.via_proxy() as r, env.direct() as primary:
        pipe = r.pipeline(transaction=False)
        for i in range(500):
            pipe.set(f"p{i}", i)
            pipe.incr("pipelined")
        pipe.get("p499")
        pipe.lpush("s-not-list", "x")
        pipe.incr("s-not-list")  # WRONGTYPE, in its place among the replies
        results = pipe.execute(raise_on_error=False)
        assert results[:1000] == [val for i in range(500) for val in (True, i + 1)]
        assert results[1000:1002] == [b"499", 1]
        assert isinstance(results[1002], redis.ResponseError)
        assert primary.get("pipelined") == b"500"
        assert primary.mget(["p0", "p250", "p499"]) == [b"0", b"250", b"499"]


def test_redis_py_pipeline_with_transaction(env):
    with env.via_proxy() as r, env.direct() as primary:
        with r.pipeline(transaction=True) as tx:
            tx.incr("balance")
            tx.incrby("balance", 10)
            tx.set("note", "paid")
            tx.get("note")
            assert tx.execute() == [1, 11, True, b"paid"]
        assert primary.get("balance") == b"11"
        assert primary.get("note") == b"paid"
        # A command failing inside EXEC does not abort the others, as on Redis.
        with r.pipeline(transaction=True) as tx:
            tx.incr("note")
            tx.incr("balance")
            results = tx.execute(raise_on_error=False)
        assert isinstance(results[0], redis.ResponseError)
        assert results[1] == 12
        assert primary.get("balance") == b"12"
        # A command refused while queueing aborts the whole transaction.
        with r.pipeline(transaction=True) as tx:
            tx.incr("balance")
            tx.execute_command("SET", "only-one-arg")
            with pytest.raises(redis.ResponseError):
                tx.execute()
        assert primary.get("balance") == b"12"
        assert primary.exists("only-one-arg") == 0


@pytest.mark.parametrize("modifier", ["primary", "proxy"])
def test_redis_py_watch_retry_loop_sees_one_watch_error(env, modifier):
    """The usual optimistic-locking loop; another client changes the key once
    between WATCH and EXEC, directly on the primary or through understudy."""
    with env.via_proxy() as r, env.direct() as primary:
        primary.set("stock", 10)
        other = env.direct() if modifier == "primary" else env.via_proxy()
        watch_errors = 0
        attempts = 0
        try:
            with r.pipeline() as tx:
                while attempts < 5:
                    attempts += 1
                    try:
                        tx.watch("stock")
                        stock = int(tx.get("stock"))
                        if attempts == 1:
                            other.decrby("stock", 3)  # a concurrent buyer
                        tx.multi()
                        tx.set("stock", stock - 1)
                        tx.rpush("orders", f"attempt-{attempts}")
                        assert tx.execute() == [True, 1]
                        break
                    except redis.WatchError:
                        watch_errors += 1
        finally:
            other.close()
        assert watch_errors == 1
        assert attempts == 2
        assert primary.get("stock") == b"6"  # 10 - 3 by the other, then - 1
        assert primary.lrange("orders", 0, -1) == [b"attempt-2"]


def test_pubsub_subscriber_through_proxy_gets_primary_publish(env):
    with env.via_proxy() as r, env.direct() as primary:
        pubsub = r.pubsub()
        try:
            pubsub.subscribe("news")
            pubsub.psubscribe("alerts.*")
            confirmations = [pubsub.get_message(timeout=5) for _ in range(2)]
            assert [m["type"] for m in confirmations] == ["subscribe", "psubscribe"]
            # The subscription lives on the primary: PUBLISH there reaches it.
            assert primary.pubsub_numsub("news") == [(b"news", 1)]
            assert primary.publish("news", "hello") == 1
            message = _next_message(pubsub)
            assert message["channel"] == b"news" and message["data"] == b"hello"
            assert primary.publish("alerts.disk", "full") == 1
            message = _next_message(pubsub)
            assert message["type"] == "pmessage"
            assert (message["pattern"], message["channel"], message["data"]) == (
                b"alerts.*", b"alerts.disk", b"full")
            pubsub.unsubscribe("news")
            assert _next_message(pubsub, kind="unsubscribe")["channel"] == b"news"
            assert primary.publish("news", "nobody") == 0
        finally:
            pubsub.close()


def test_pubsub_primary_subscriber_gets_publish_through_proxy(env):
    with env.via_proxy() as r, env.direct() as primary:
        pubsub = primary.pubsub()
        try:
            pubsub.subscribe("orders")
            assert pubsub.get_message(timeout=5)["type"] == "subscribe"
            assert r.publish("orders", "order-1") == 1
            message = _next_message(pubsub)
            assert message["channel"] == b"orders" and message["data"] == b"order-1"
            assert r.pubsub_numsub("orders") == [(b"orders", 1)]
        finally:
            pubsub.close()


def _next_message(pubsub, kind: str | None = None, timeout: float = 5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = pubsub.get_message(timeout=max(0.01, deadline - time.monotonic()))
        if message is not None and (kind is None or message["type"] == kind):
            return message
    raise TimeoutError(f"no {kind or 'message'} within {timeout}s")


def test_blpop_through_proxy_woken_by_lpush_on_primary(env):
    with env.via_proxy() as r, env.direct() as primary:
        popped = []

        def pop():
            popped.append(r.blpop(["jobs", "other"], timeout=10))

        waiter = threading.Thread(target=pop)
        waiter.start()
        try:
            # Wait until the primary itself holds a blocked client (ours,
            # on the pinned connection), so the push really wakes it.
            wait_until(lambda: primary.info("clients")["blocked_clients"] == 1, 5,
                       "a client blocked on the primary")
            assert primary.lpush("jobs", "job-1") == 1
            waiter.join(timeout=10)
        finally:
            waiter.join(timeout=15)
        assert popped == [(b"jobs", b"job-1")]
        assert primary.exists("jobs") == 0
        # Timing out through the proxy is a nil reply, as on Redis.
        started = time.monotonic()
        assert r.blpop(["nothing"], timeout=0.3) is None
        assert 0.25 <= time.monotonic() - started < 3


def test_select_3_writes_land_in_db_3_of_the_primary(env):
    with env.via_proxy(db=3) as r3, env.via_proxy() as r0:
        assert r3.set("in-three", "x") is True
        assert r3.incr("counter3") == 1
        assert r3.rpush("list3", "a", "b") == 2
        assert r3.get("in-three") == b"x"
        assert r0.get("in-three") is None
        assert r0.set("in-zero", "y") is True
    with env.direct(db=3) as p3, env.direct() as p0:
        assert sorted(p3.keys()) == [b"counter3", b"in-three", b"list3"]
        assert p3.lrange("list3", 0, -1) == [b"a", b"b"]
        assert p0.keys() == [b"in-zero"]
    # The same on one raw connection: SELECT then writes, then back to 0.
    with RespClient(HOST, env.proxy.port) as conn:
        assert conn.command("SELECT", "3") == b"+OK\r\n"
        assert conn.command("SET", "raw3", "v") == b"+OK\r\n"
        assert conn.command("DBSIZE") == b":4\r\n"
        assert conn.command("SELECT", "0") == b"+OK\r\n"
        assert conn.command("DBSIZE") == b":1\r\n"
    with env.direct(db=3) as p3:
        assert p3.get("raw3") == b"v"


# Commands whose RESP3 replies use the new types (map, set, double, null,
# nested aggregates), run on keys "<prefix>:..." so that the proxied and the
# direct connection each have their own copy of the same data (prefixes of
# the same length, so that replies naming keys have the same bytes).
RESP3_STEPS = [
    ("HSET", "{p}:h", "f1", "v1", "f2", "v2"),
    ("SADD", "{p}:s", "a"),
    ("ZADD", "{p}:z", "1.5", "m1", "2", "m2"),
    ("RPUSH", "{p}:l", "x", "y"),
    ("SET", "{p}:str", "value"),
    ("XADD", "{p}:x", "1-1", "k", "v"),
    ("HGETALL", "{p}:h"),
    ("HGETALL", "{p}:missing"),
    ("SMEMBERS", "{p}:s"),
    ("ZSCORE", "{p}:z", "m1"),
    ("ZSCORE", "{p}:z", "nope"),
    ("ZRANGE", "{p}:z", "0", "-1", "WITHSCORES"),
    ("ZPOPMIN", "{p}:z"),
    ("ZINCRBY", "{p}:z", "0.25", "m2"),
    ("GET", "{p}:missing"),
    ("LPOS", "{p}:l", "nope"),
    ("HRANDFIELD", "{p}:missing", "2", "WITHVALUES"),
    ("XRANGE", "{p}:x", "-", "+"),
    ("XREAD", "STREAMS", "{p}:x", "0"),
    ("OBJECT", "ENCODING", "{p}:h"),
    ("EXISTS", "{p}:str", "{p}:missing"),
    ("INCR", "{p}:str"),
    ("MULTI",),
    ("HGETALL", "{p}:h"),
    ("ZSCORE", "{p}:z", "m2"),
    ("EXEC",),
]


def test_hello_3_replies_match_the_primary(env):
    proxied, hello_proxied = _hello3(env.proxy.port)
    direct, hello_direct = _hello3(env.primary.port)
    assert direct.command("CLIENT", "SETNAME", DIRECT_CLIENT_NAME) == b"+OK\r\n"
    try:
        # HELLO is understudy's own; it must say what the primary says
        # (version 7.0.15, standalone, master...), except for the
        # connection's id and the server's name, which is "understudy".
        assert _hello_fields(hello_proxied) == _hello_fields(hello_direct)
        assert b"$10\r\nunderstudy\r\n" in hello_proxied
        for step in RESP3_STEPS:
            got = proxied.command(*(arg.format(p="proxied") for arg in step))
            expected = direct.command(*(arg.format(p="primary") for arg in step))
            # Key names in replies (XREAD) have the same length either way.
            assert got == expected.replace(b"primary:", b"proxied:"), step
        # Pushes: SUBSCRIBE on both connections, PUBLISH on the primary.
        assert proxied.command("SUBSCRIBE", "ch") == direct.command("SUBSCRIBE", "ch")
        with env.direct() as primary:
            assert primary.pubsub_numsub("ch") == [(b"ch", 2)]
            assert primary.publish("ch", "pushed") == 2
        push = b">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$6\r\npushed\r\n"
        assert proxied.read_reply() == push
        assert direct.read_reply() == push
    finally:
        proxied.close()
        direct.close()


def _hello3(port: int) -> tuple[RespClient, bytes]:
    conn = RespClient(HOST, port, timeout=5)
    return conn, conn.command("HELLO", "3")


def _hello_fields(raw: bytes) -> list:
    """HELLO's map as (key, type, value) in order; id and server blanked."""
    node = parse_reply(raw)
    assert node.kind == "%", raw
    pairs = list(zip(node.children[0::2], node.children[1::2]))
    return [(key.value, value.kind,
             None if key.value in (b"id", b"server") else value.value,
             [c.value for c in value.children or []]) for key, value in pairs]


def test_info_understudy_counts_proxied_requests(env):
    before = info_understudy(env.proxy)
    with env.via_proxy() as r:
        for i in range(50):
            r.set(f"k{i}", i)
        fields = r.info("understudy")
    after = info_understudy(env.proxy)
    assert fields["primary_state"] == "healthy"
    assert after["mode"] == "proxy"
    assert after["primary_address"] == f"{HOST}:{env.primary.port}"
    assert int(after["requests_proxied"]) - int(before["requests_proxied"]) >= 50
    assert after["requests_rejected"] == before["requests_rejected"]
    with env.direct() as primary:
        assert primary.dbsize() == 50


# Commands that change a connection's state. Sent by one client through
# understudy, they must change that client's connection only: understudy
# answers them itself, or keeps them on a connection of that client's own.
# Other clients sharing upstream connections must not notice anything.
STATE_CHANGERS = {
    "client-reply-off": (2, [("CLIENT", "REPLY", "OFF"), ("SET", "actor", "1")]),
    "client-reply-skip": (2, [("CLIENT", "REPLY", "SKIP"), ("SET", "actor", "1"),
                              ("GET", "actor")]),
    "client-tracking-resp3": (3, [("CLIENT", "TRACKING", "ON"), ("GET", "k")]),
    "monitor": (2, [("MONITOR",)]),
    "unsubscribe-two-channels": (2, [("UNSUBSCRIBE", "a", "b")]),
    "unsubscribe-resp3": (3, [("UNSUBSCRIBE", "a")]),
    "select-in-multi": (2, [("MULTI",), ("SELECT", "2"), ("EXEC",)]),
    "hello-3-in-multi": (2, [("MULTI",), ("HELLO", "3"), ("EXEC",)]),
    "client-setname-in-multi": (2, [("MULTI",), ("CLIENT", "SETNAME", "x"), ("EXEC",)]),
    "subscribe-in-multi-resp3": (3, [("MULTI",), ("SUBSCRIBE", "ch"), ("EXEC",)]),
}


@pytest.mark.parametrize("name", list(STATE_CHANGERS))
def test_state_of_one_client_does_not_leak_to_others(env, name):
    protocol, commands = STATE_CHANGERS[name]
    with env.direct() as primary:
        primary.set("k", "v")
    bystanders = [RespClient(HOST, env.proxy.port, timeout=2) for _ in range(4)]
    try:
        for conn in bystanders:
            assert conn.command("GET", "k") == b"$1\r\nv\r\n"
        with RespClient(HOST, env.proxy.port, timeout=0.5) as actor:
            if protocol == 3:
                assert actor.command("HELLO", "3").startswith(b"%")
            for command in commands:
                actor.send_command([arg.encode() for arg in command])
            # Whatever the actor itself gets (some of these silence it).
            actor.expect_nothing(0.3)
            # A write after the actor's commands, seen by the bystanders.
            with env.direct() as primary:
                primary.set("k", "w")
            for i, conn in enumerate(bystanders):
                assert conn.command("GET", "k") == b"$1\r\nw\r\n", (name, i)
                assert conn.command("SET", f"bystander{i}", i) == b"+OK\r\n"
                assert conn.command("HGETALL", "no-hash") == b"*0\r\n", (name, i)
        for i, conn in enumerate(bystanders):
            assert conn.command("GET", "k") == b"$1\r\nw\r\n", (name, i)
    finally:
        for conn in bystanders:
            conn.close()
    with env.direct() as primary:
        assert sorted(primary.keys("bystander*")) == [b"bystander%d" % i for i in range(4)]
