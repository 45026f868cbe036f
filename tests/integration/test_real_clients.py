"""Real clients against understudy: redis-cli (incl. --pipe), redis-py and
redis-benchmark. Each test starts its own daemon and stops it by PID."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading

import pytest
import redis

from support.servers import Understudy

REDIS_CLI = shutil.which("redis-cli")
REDIS_BENCHMARK = shutil.which("redis-benchmark")


@pytest.fixture
def daemon():
    server = Understudy().start()
    try:
        yield server
    finally:
        server.cleanup()


def cli(server, *args, stdin: bytes | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [REDIS_CLI, "-h", "127.0.0.1", "-p", str(server.port), *args],
        input=stdin,
        capture_output=True,
        timeout=timeout,
        check=False,
    )


def test_redis_cli_commands_and_no_warnings(daemon):
    assert cli(daemon, "SET", "greeting", "hello").stdout == b"OK\n"
    assert cli(daemon, "GET", "greeting").stdout == b"hello\n"
    # Not a tty: redis-cli prints bare values.
    assert cli(daemon, "INCRBY", "n", "41").stdout == b"41\n"
    # Commands read from stdin, as in `redis-cli < script`.
    result = cli(daemon, stdin=b"SET a 1\nINCR a\nGET a\nPING\n")
    assert result.stdout.split() == [b"OK", b"2", b"2", b"PONG"]
    assert result.stderr == b""


def test_redis_cli_pipe_mass_insertion_of_100k_keys(daemon):
    count = 100_000
    lines = []
    for i in range(count):
        key = f"key:{i:06d}".encode()
        value = f"value-{i}".encode()
        lines.append(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(key), key, len(value), value))
    result = cli(daemon, "--pipe", stdin=b"".join(lines), timeout=120)
    assert result.returncode == 0, result.stderr
    assert b"errors: 0, replies: 100000" in result.stdout, result.stdout
    assert cli(daemon, "DBSIZE").stdout == b"100000\n"
    assert cli(daemon, "GET", "key:099999").stdout == b"value-99999\n"
    assert cli(daemon, "GET", "key:000000").stdout == b"value-0\n"


def test_redis_py_basic_operations(daemon):
    r = redis.Redis(host="127.0.0.1", port=daemon.port, socket_timeout=5)
    try:
        assert r.ping() is True
        assert r.set("s", "v") is True
        assert r.get("s") == b"v"
        assert r.set("s", "w", nx=True) is None
        assert r.incr("counter") == 1
        assert r.incrby("counter", 9) == 10
        assert r.incrbyfloat("f", 1.5) == 1.5
        assert r.mset({"a": "1", "b": "2"}) is True
        assert r.mget(["a", "b", "missing"]) == [b"1", b"2", None]
        assert r.expire("a", 100) is True
        assert 0 < r.ttl("a") <= 100
        assert r.persist("a") is True
        assert r.ttl("a") == -1
        assert r.exists("a", "b", "missing") == 2
        assert r.delete("a", "missing") == 1
        assert r.type("b") == b"string"
        assert sorted(r.scan_iter(match="*")) == sorted([b"s", b"counter", b"f", b"b"])
        assert r.dbsize() == 4
        assert r.client_setname("py") is True
        assert r.client_getname() == "py" or r.client_getname() == b"py"
        info = r.info()
        assert "redis_version" in info
        assert isinstance(r.config_get("maxclients"), dict)
    finally:
        r.close()


def test_redis_py_pipeline_and_watch_transaction(daemon):
    r = redis.Redis(host="127.0.0.1", port=daemon.port, socket_timeout=5)
    try:
        pipe = r.pipeline(transaction=False)
        for i in range(100):
            pipe.set(f"p{i}", i)
        assert pipe.execute() == [True] * 100
        with r.pipeline() as tx:
            tx.incr("balance")
            tx.incr("balance")
            assert tx.execute() == [1, 2]
        # Optimistic locking: a write from another client between WATCH and
        # EXEC makes the transaction fail.
        other = redis.Redis(host="127.0.0.1", port=daemon.port, socket_timeout=5)
        with r.pipeline() as tx:
            tx.watch("balance")
            other.set("balance", 100)
            tx.multi()
            tx.incr("balance")
            with pytest.raises(redis.WatchError):
                tx.execute()
        other.close()
        assert r.get("balance") == b"100"
    finally:
        r.close()


def test_concurrent_clients_increment_one_counter(daemon):
    threads, per_thread = 20, 200

    def work():
        client = redis.Redis(host="127.0.0.1", port=daemon.port, socket_timeout=10)
        try:
            for _ in range(per_thread):
                client.incr("shared")
        finally:
            client.close()

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=60)
    r = redis.Redis(host="127.0.0.1", port=daemon.port)
    assert int(r.get("shared")) == threads * per_thread
    r.close()


def test_redis_benchmark_runs_clean(daemon):
    result = subprocess.run(
        [REDIS_BENCHMARK, "-h", "127.0.0.1", "-p", str(daemon.port), "-t", "ping,set,get,incr,mset",
         "-n", "100000", "-q", "--csv"],
        capture_output=True,
        timeout=300,
        check=False,
    )
    output = result.stdout.decode() + result.stderr.decode()
    # redis-benchmark 7 exits non-zero at the first error reply.
    assert result.returncode == 0, output
    assert "Error" not in output and "WARNING" not in output, output
    rows = [line for line in result.stdout.decode().splitlines() if line.startswith('"')]
    tests = {row.split(",")[0].strip('"') for row in rows[1:]}
    for expected in ("PING_INLINE", "PING_MBULK", "SET", "GET", "INCR", "MSET (10 keys)"):
        assert expected in tests, rows
    r = redis.Redis(host="127.0.0.1", port=daemon.port)
    try:
        # Every request was understood: no error replies at all.
        stats = r.info("stats")
        assert stats["total_error_replies"] == 0, stats
        assert int(r.get("counter:__rand_int__")) == 100000
    finally:
        r.close()


def test_error_replies_are_counted(daemon):
    """The counter the benchmark test relies on does count errors."""
    r = redis.Redis(host="127.0.0.1", port=daemon.port)
    try:
        before = r.info("stats")["total_error_replies"]
        r.set("s", "not a number")
        with pytest.raises(redis.ResponseError):
            r.incr("s")
        with pytest.raises(redis.ResponseError):
            r.execute_command("NO-SUCH-COMMAND")
        assert r.info("stats")["total_error_replies"] == before + 2
    finally:
        r.close()


def test_unix_socket_listener():
    path = os.path.join(tempfile.mkdtemp(prefix="understudy-sock-"), "u.sock")
    server = Understudy(["--unixsocket", path]).start()
    try:
        out = subprocess.run([REDIS_CLI, "-s", path, "SET", "k", "over-unix"], capture_output=True,
                             timeout=10, check=False)
        assert out.stdout == b"OK\n"
        r = redis.Redis(unix_socket_path=path)
        assert r.get("k") == b"over-unix"
        r.close()
    finally:
        server.cleanup()
