#!/usr/bin/python3
"""Reconciliation throughput (issue 6): how fast the outage journal is
replayed onto the primary.

Starts a redis-server primary and understudy in proxy mode with a union
(`bl:*`), an lww (`sess:*`) and a counter (`rl:*`) class on free loopback
ports, kills the primary, sends N writes through understudy with
redis-benchmark (all answered locally and journaled: INCRBY on rl:*, SADD on
bl:*, SET on sess:*, in the --mix proportions), restarts the primary on the
same port and prints how long the replay took (INFO understudy
reconcile_last_duration_ms) and its rate, then checks that the primary's
counters add up to the increments sent.

Every process started is killed by PID at the end. Figures mean something
only on a quiet machine. Usage: bench/load/replay_bench.py [--writes N]
[--mix C,U,L] [--keyspace K]; UNDERSTUDY_BIN picks the binary.
Goal (issue 6): at least 200,000 records per second.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import signal
import socket
import subprocess
import sys
import tempfile
import time

import redis

REPO = pathlib.Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"
COUNT_SCRIPT = ("local s = 0 for _, k in ipairs(redis.call('KEYS', 'rl:*')) do "
                "s = s + tonumber(redis.call('GET', k)) end return s")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def wait_until(predicate, timeout_s: float, what: str):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except redis.RedisError:
            pass
        time.sleep(0.01)
    raise RuntimeError(f"{what} not reached within {timeout_s} s")


def info(port: int) -> dict:
    return redis.Redis(host=HOST, port=port, socket_timeout=5).info("understudy")


def load(port: int, requests: int, keyspace: int, command: list[str]) -> None:
    if requests <= 0:
        return
    subprocess.run(["redis-benchmark", "-h", HOST, "-p", str(port), "-c", "8", "-P", "64",
                    "-n", str(requests), "-r", str(keyspace), "-q", *command],
                   check=True, capture_output=True, timeout=600)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--writes", type=int, default=1_000_000)
    parser.add_argument("--mix", default="80,10,10",
                        help="percent of counter, union, lww writes (default 80,10,10)")
    parser.add_argument("--keyspace", type=int, default=100_000)
    options = parser.parse_args()
    shares = [int(x) for x in options.mix.split(",")]
    counter_n, union_n = (options.writes * shares[0] // 100, options.writes * shares[1] // 100)
    lww_n = options.writes - counter_n - union_n
    binary = os.environ.get("UNDERSTUDY_BIN", str(REPO / "build" / "understudy"))
    workdir = tempfile.mkdtemp(prefix="replay-bench-")
    processes: list[subprocess.Popen] = []

    def spawn(argv: list[str], name: str) -> subprocess.Popen:
        log = open(os.path.join(workdir, name + ".log"), "a")
        process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=workdir)
        processes.append(process)
        return process

    primary_port, us_port = free_port(), free_port()
    primary_argv = ["redis-server", "--port", str(primary_port), "--bind", HOST, "--save", "",
                    "--appendonly", "no"]
    try:
        primary = spawn(primary_argv, "primary")
        wait_until(lambda: redis.Redis(host=HOST, port=primary_port).ping(), 30, "primary up")
        spawn([binary, "--port", str(us_port), "--primary", HOST, str(primary_port),
               "--primary-probe-max-interval", "100",
               "--class", "bl", "bl:*", "mirror", "yes", "merge", "union",
               "--class", "sess", "sess:*", "mirror", "yes", "merge", "lww",
               "--class", "rl", "rl:*", "mirror", "yes", "merge", "counter"], "understudy")
        wait_until(lambda: info(us_port).get("primary_state") == "healthy", 30, "healthy")

        primary.send_signal(signal.SIGKILL)
        primary.wait()
        wait_until(lambda: info(us_port).get("primary_state") != "healthy", 30, "outage seen")
        started = time.monotonic()
        load(us_port, counter_n, options.keyspace, ["INCRBY", "rl:__rand_int__", "1"])
        load(us_port, union_n, options.keyspace, ["SADD", "bl:__rand_int__", "t__rand_int__"])
        load(us_port, lww_n, options.keyspace, ["SET", "sess:__rand_int__", "v__rand_int__"])
        journaling_s = time.monotonic() - started
        fields = info(us_port)
        pending = int(fields["journal_records_pending"])
        print(f"journal: {pending} records pending ({fields['journal_bytes']} bytes) after "
              f"{options.writes} writes through understudy in {journaling_s:.1f} s "
              f"({options.writes / journaling_s:,.0f} writes/s, local serving)")

        back = time.monotonic()
        primary = spawn(primary_argv, "primary")
        wait_until(lambda: info(us_port).get("primary_state") == "healthy", 600,
                   "healthy after the replay")
        wall_s = time.monotonic() - back
        fields = info(us_port)
        replay_ms = int(fields["reconcile_last_duration_ms"])
        replayed = int(fields["reconcile_replayed"])
        print(f"replay: {replayed} records in {replay_ms} ms: "
              f"{replayed / max(replay_ms, 1) * 1000:,.0f} records/s "
              f"({wall_s:.1f} s from the primary's restart to healthy); goal >= 200,000/s")
        total = redis.Redis(host=HOST, port=primary_port, socket_timeout=120).eval(
            COUNT_SCRIPT, 0)
        print(f"check: counters on the primary add up to {total} "
              f"(increments sent: {counter_n}) -> {'ok' if total == counter_n else 'WRONG'}")
        return 0 if total == counter_n else 1
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()


if __name__ == "__main__":
    sys.exit(main())
