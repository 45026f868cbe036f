"""redis-benchmark with its default test set (no -t) against understudy.

redis-benchmark is how users will first try the daemon, and its default run
covers strings, lists, sets, hashes, sorted sets and MSET. The test runs it
with -n 100000 (BENCH_DEFAULTS_REQUESTS) and 50 clients against a dedicated
target process and requires:
  - exit status 0 within the time limit;
  - every test that the same redis-benchmark prints against the reference
    redis-server 7.0 (learned from a short run there, not hard-coded),
    with a positive rate;
  - no error reply: redis-benchmark 7.0 stops with "Error from server" at
    the first one (older versions needed -e; 7.0 warns that -e has no
    effect), no line of its output mentions an error or a warning, and
    INFO's total_error_replies (and unexpected_error_replies) stay 0 when
    the target reports them;
  - the target still running afterwards.

On the 2-core development machine an idle run of -n 100000 takes well under
the time limit (see the printed timing); set BENCH_DEFAULTS_REQUESTS lower
on a slow or busy machine, and BENCH_DEFAULTS_TIMEOUT (seconds, default
600) for the limit. DIFF_TARGET=redis runs it against a second redis-server.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time

import pytest

from conftest import start_target
from support.resp import parse_reply

REQUESTS = int(os.environ.get("BENCH_DEFAULTS_REQUESTS", "100000"))
TIMEOUT_S = float(os.environ.get("BENCH_DEFAULTS_TIMEOUT", "600"))
REFERENCE_REQUESTS = 500
CLIENTS = 50


def _benchmark_binary() -> str:
    binary = os.environ.get("REDIS_BENCHMARK_BIN") or shutil.which("redis-benchmark")
    if not binary:
        pytest.fail("redis-benchmark not found (set REDIS_BENCHMARK_BIN)")
    return binary


def _run_benchmark(server, requests: int, timeout: float) -> subprocess.CompletedProcess:
    argv = [_benchmark_binary(), "-h", server.host, "-p", str(server.port),
            "-n", str(requests), "-c", str(CLIENTS), "--csv"]
    try:
        return subprocess.run(argv, capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"redis-benchmark -n {requests} did not finish within {timeout} s "
                    f"against {server.label}; output so far:\n{exc.stdout!r}\n"
                    f"{server.log_tail()}", pytrace=False)


def _results(output: bytes) -> dict[str, float]:
    """CSV rows '"LABEL","rps",...' as label -> rps (header left out)."""
    rows = {}
    for line in output.decode("utf-8", "replace").splitlines():
        fields = [field.strip('"') for field in line.split('","')]
        if len(fields) >= 2 and fields[0] != "test":
            try:
                rows[fields[0]] = float(fields[1])
            except ValueError:
                pass  # not a result row (e.g. an error line)
    return rows


def _info_stats(server) -> dict[bytes, bytes]:
    with server.client(timeout=5.0) as client:
        reply = parse_reply(client.command("INFO", "stats"))
    text = reply.value or b""
    fields = {}
    for line in text.split(b"\r\n"):
        name, sep, value = line.partition(b":")
        if sep:
            fields[name] = value
    return fields


@pytest.fixture(scope="module")
def default_tests(redis_ref) -> list[str]:
    """The tests redis-benchmark runs by default, as it reports them."""
    result = _run_benchmark(redis_ref, REFERENCE_REQUESTS, 120)
    with redis_ref.client() as client:
        client.command("FLUSHALL")
    assert result.returncode == 0, result.stderr
    labels = list(_results(result.stdout))
    # Sanity: the default set of redis-benchmark 7.0 has about twenty tests.
    assert len(labels) >= 15 and "SET" in labels and "GET" in labels, labels
    return labels


@pytest.fixture(scope="module")
def benchmark_target():
    server = start_target()
    try:
        yield server
    finally:
        server.cleanup()


def test_default_benchmark_completes_without_errors(default_tests, benchmark_target):
    started = time.monotonic()
    result = _run_benchmark(benchmark_target, REQUESTS, TIMEOUT_S)
    elapsed = time.monotonic() - started
    print(f"redis-benchmark -n {REQUESTS} -c {CLIENTS} (default tests) against "
          f"{benchmark_target.label}: {elapsed:.1f} s")
    stdout = result.stdout.decode("utf-8", "replace")
    stderr = result.stderr.decode("utf-8", "replace")
    assert benchmark_target.is_alive(), \
        f"{benchmark_target.label} died during the benchmark\n{benchmark_target.log_tail()}"
    assert result.returncode == 0, f"exit status {result.returncode}\n{stdout}\n{stderr}"
    error_lines = [line for line in (stdout + stderr).splitlines()
                   if "error" in line.lower() or "warning" in line.lower()]
    assert not error_lines, "redis-benchmark reported:\n" + "\n".join(error_lines[:20])
    results = _results(result.stdout)
    missing = [label for label in default_tests if label not in results]
    assert not missing, f"tests not reported: {missing}\n{stdout}"
    stalled = {label: rps for label, rps in results.items() if rps <= 0}
    assert not stalled, f"tests without throughput: {stalled}"
    print("\n".join(f"  {label}: {results[label]:.0f} rps" for label in default_tests))

    stats = _info_stats(benchmark_target)
    counters = [name for name in (b"total_error_replies", b"unexpected_error_replies")
                if name in stats]
    if not counters:
        print("INFO stats has no error counters; checked redis-benchmark's output only")
    for name in counters:
        assert stats[name] == b"0", f"INFO stats {name.decode()}:{stats[name].decode()}"
