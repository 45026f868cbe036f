#!/usr/bin/python3
"""Mirror figures (issue 5): initial load rate and memory, lag, near-cache.

Starts a redis-server primary and understudy in proxy mode with a mirrored,
near-cached class `key:*` on free loopback ports, and prints:

  load     1,000,000 mirrored keys (plus 1,000,000 keys of no mirrored class,
           which must not be loaded): time, rate, and understudy's resident
           memory against a redis-server holding the same 1,000,000 keys;
  lag      writes by another client on the primary at a steady rate, each
           timed until understudy's near-cache answers the new value:
           median and 99th percentile;
  near     redis-benchmark GET and EXISTS on the near-cached class through
           understudy against redis-server directly, interleaved, -P 1 and 16.

Every process started is killed by PID at the end. Figures mean something
only on a quiet machine. Usage: bench/load/mirror_bench.py [--keys N]
[--writes N] [--rate PER_S] [--rounds N]; UNDERSTUDY_BIN picks the binary.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time

import redis

REPO = pathlib.Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def wait_ping(port: int, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if redis.Redis(host=HOST, port=port, socket_timeout=1).ping():
                return
        except redis.RedisError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing answers on port {port}")


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def info_understudy(port: int) -> dict:
    """INFO understudy as redis-py parses it (a class line becomes a dict)."""
    return redis.Redis(host=HOST, port=port).info("understudy")


def benchmark(port: int, pipeline: int, args: list[str], requests: int) -> float:
    out = subprocess.run(
        ["redis-benchmark", "-h", HOST, "-p", str(port), "-c", "50", "-n", str(requests),
         "-r", "100000", "-P", str(pipeline), "-q", *args],
        capture_output=True, text=True, timeout=300).stdout
    rates = re.findall(r"([\d.]+) requests per second", out.replace("\r", "\n"))
    if not rates:
        raise RuntimeError(f"redis-benchmark said: {out[-300:]}")
    return float(rates[-1])


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--keys", type=int, default=1_000_000)
    parser.add_argument("--writes", type=int, default=10_000)
    parser.add_argument("--rate", type=int, default=2_000, help="writes per second")
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()
    binary = os.environ.get("UNDERSTUDY_BIN", str(REPO / "build" / "understudy"))
    workdir = tempfile.mkdtemp(prefix="mirror-bench-")
    processes: list[subprocess.Popen] = []

    def spawn(argv: list[str], name: str) -> subprocess.Popen:
        log = open(os.path.join(workdir, name + ".log"), "w")
        process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=workdir)
        processes.append(process)
        return process

    try:
        primary_port, reference_port, us_port = free_port(), free_port(), free_port()
        common = ["--save", "", "--appendonly", "no", "--enable-debug-command", "yes",
                  "--bind", HOST]
        spawn(["redis-server", "--port", str(primary_port), *common], "primary")
        reference = spawn(["redis-server", "--port", str(reference_port), *common], "reference")
        wait_ping(primary_port)
        wait_ping(reference_port)
        primary = redis.Redis(host=HOST, port=primary_port, socket_timeout=120)
        primary.execute_command("DEBUG", "POPULATE", options.keys, "key")
        primary.execute_command("DEBUG", "POPULATE", options.keys, "other")
        ref = redis.Redis(host=HOST, port=reference_port, socket_timeout=120)
        ref.execute_command("DEBUG", "POPULATE", options.keys, "key")

        # --- initial load ----------------------------------------------------
        start = time.monotonic()
        understudy = spawn([binary, "--port", str(us_port), "--primary", HOST, str(primary_port),
                            "--class", "key", "key:*", "mirror", "yes", "near-cache", "yes"],
                           "understudy")
        wait_ping(us_port)
        while info_understudy(us_port).get("mirror_state") != "live":
            if time.monotonic() - start > 300:
                raise RuntimeError("the mirror did not load within 300 s")
            time.sleep(0.02)
        elapsed = time.monotonic() - start
        fields = info_understudy(us_port)
        loaded = int(fields["class_key"]["loaded"])
        us_rss, ref_rss = rss_bytes(understudy.pid), rss_bytes(reference.pid)
        dbsize = redis.Redis(host=HOST, port=us_port).execute_command("INFO", "keyspace")
        print(f"load: {loaded} mirrored keys (of {2 * options.keys} on the primary) in "
              f"{elapsed:.2f} s from start ({int(fields['mirror_last_load_ms'])} ms loading): "
              f"{loaded / elapsed:,.0f} keys/s; goal >= 200,000 keys/s")
        print(f"load: understudy local keyspace {dbsize}")
        print(f"memory: understudy RSS {us_rss / 2**20:.1f} MiB, redis-server with the same "
              f"{options.keys} keys {ref_rss / 2**20:.1f} MiB, ratio {us_rss / ref_rss:.3f}")

        # --- lag ----------------------------------------------------------------
        reader = redis.Redis(host=HOST, port=us_port, socket_timeout=5)
        writer = redis.Redis(host=HOST, port=primary_port, socket_timeout=5)
        lags = []
        interval = 1.0 / options.rate
        next_write = time.monotonic()
        for i in range(options.writes):
            now = time.monotonic()
            if now < next_write:
                time.sleep(next_write - now)
            next_write += interval
            value = f"w{i}".encode()
            key = f"key:{i % 1000}"
            sent = time.monotonic()
            writer.set(key, value)
            while reader.get(key) != value:
                if time.monotonic() - sent > 5:
                    raise RuntimeError(f"{key} never became visible")
            lags.append((time.monotonic() - sent) * 1000)
        lags.sort()
        p99 = lags[int(len(lags) * 0.99) - 1]
        print(f"lag: {len(lags)} writes at up to {options.rate}/s: median "
              f"{statistics.median(lags):.3f} ms, p99 {p99:.3f} ms, max {lags[-1]:.3f} ms; "
              f"goal p99 < 5 ms (includes one near-cache read round trip)")

        # --- near-cache throughput ---------------------------------------------------
        tests = {"GET": ["-t", "get"], "EXISTS": ["EXISTS", "key:__rand_int__"]}
        for name, args in tests.items():
            for pipeline in (1, 16):
                requests = 60_000 if pipeline == 1 else 600_000
                ratios, direct_rates, us_rates = [], [], []
                for round_index in range(options.rounds):
                    order = [reference_port, us_port][:: 1 if round_index % 2 == 0 else -1]
                    rates = {port: benchmark(port, pipeline, args, requests) for port in order}
                    direct_rates.append(rates[reference_port])
                    us_rates.append(rates[us_port])
                    ratios.append(rates[us_port] / rates[reference_port])
                print(f"near-cache {name:6} -P {pipeline:2}: direct "
                      f"{statistics.median(direct_rates):,.0f}/s, understudy "
                      f"{statistics.median(us_rates):,.0f}/s, ratio "
                      f"{statistics.median(ratios):.3f} (goal >= 1.0)")
        proxied = info_understudy(us_port)["requests_proxied"]
        print(f"near-cache: requests_proxied after the runs: {proxied}")
        return 0
    finally:
        for process in processes:
            process.kill()
            process.wait()


if __name__ == "__main__":
    sys.exit(main())
