"""Proxy mode under faults: understudy in front of a real redis-server primary.

For each fault (SIGKILL, SIGSTOP/SIGCONT, restart into -LOADING, -LOADING on
open connections, CLIENT KILL, Sentinel failover and a killed master under
Sentinel) a load of CLIENTS concurrent clients (support/loadgen.py) runs
mixed reads and writes on classified keys through understudy, the fault is
injected, the load keeps going, the primary recovers, and the test asserts:

  - no client-visible error on the `outage serve` classes (blacklist:*,
    session:*, rl:*), and no reply that contradicts the client's own writes
    while the primary was healthy;
  - on strict:* (`outage reject`) only `-TRYAGAIN primary unavailable`, and
    only between the fault and understudy being healthy again;
  - a real outage is seen: INFO understudy counts transitions, local and
    rejected requests, and serve-class requests were answered during it;
  - understudy is back to `primary_state:healthy` within one probe interval
    plus a margin after the primary is, and new writes reach the primary.

Each scenario prints one greppable line:
  FAILOVER fault=<name> first_local_ms=<x> max_stall_ms=<y> errors=<n> ...
first_local_ms is the time from the fault to the first successful reply on a
serve class to a request sent after the fault; errors counts serve-class
errors. Goals (printed, not asserted as timings): under 50 ms for a refused
or reset connection, under primary-timeout + 50 ms for a hang. The asserted
bounds are generous sanity limits so that a broken failover fails.

Set FAILOVER_RESULTS_FILE to also append the result lines to that file.
All tests skip (with the reason) only while the understudy binary does not
know the `primary` directive yet.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import subprocess
import tempfile
import threading
import time
from typing import Callable

import pytest
import redis

from support.loadgen import SERVE_CLASSES, LoadGenerator, Summary
from support.primary import Primary, wait_until
from support.sentinel import SentinelGroup
from support.servers import HOST, ServerStartError, Understudy, free_port, understudy_binary

CLIENTS = 24
PRIMARY_TIMEOUT_MS = 200
PROBE_INTERVAL_MS = 100
# The probe backs off (with jitter) up to this cap while the primary stays
# down, so "one probe interval" after the primary is back is at most this.
PROBE_MAX_INTERVAL_MS = 500
# Back to healthy within one probe interval of the primary being healthy,
# plus this margin for scheduling on a busy 2-core CI machine.
RECOVERY_MARGIN_MS = 400
# Sanity bounds: far above the goals, low enough that a failover that does
# not happen (or waits for a client timeout) fails the test.
FIRST_LOCAL_BOUND_MS = 2000
MAX_STALL_BOUND_MS = 2000
# strict:* may be rejected until this long after INFO first shows healthy
# again (requests already being answered when the state flipped).
REJECT_TAIL_MS = 150
WARMUP_S = 1.0
AFTER_RECOVERY_S = 0.5
LOADING_S = 1.5
TRYAGAIN = "TRYAGAIN primary unavailable"

CLASS_ARGS = [
    "--class", "blacklist", "blacklist:*", "mirror", "yes", "merge", "union", "outage", "serve",
    "--class", "session", "session:*", "mirror", "yes", "merge", "lww", "outage", "serve",
    "--class", "ratelimit", "rl:*", "mirror", "yes", "merge", "counter", "outage", "serve",
    "--class", "strict", "strict:*", "outage", "reject",
]
TUNING_ARGS = ["--primary-timeout", str(PRIMARY_TIMEOUT_MS),
               "--primary-probe-interval", str(PROBE_INTERVAL_MS),
               "--primary-probe-max-interval", str(PROBE_MAX_INTERVAL_MS)]

REDIS_CLI = shutil.which("redis-cli")


# --- The gate: proxy mode present in the binary? -------------------------------

def _primary_directive_missing() -> str | None:
    """The startup error if the binary rejects `primary HOST PORT`, else None.

    Starts `understudy --port P --primary 127.0.0.1 Q` (nothing listens on Q)
    and waits briefly: a binary without proxy mode exits at once with
    "Bad directive" on the `primary` line. The probe is ended by its PID.
    """
    argv = [str(understudy_binary()), "--port", str(free_port()),
            "--primary", HOST, str(free_port())]
    # In a scratch directory: in proxy mode the daemon keeps its outage
    # journal in its working directory.
    scratch = tempfile.TemporaryDirectory(prefix="understudy-gate-")
    try:
        probe = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, cwd=scratch.name)
    except OSError as exc:
        scratch.cleanup()
        pytest.fail(f"cannot execute {argv[0]}: {exc}")
    try:
        output, _ = probe.communicate(timeout=0.5)
    except subprocess.TimeoutExpired:
        probe.kill()
        probe.communicate(timeout=5)
        return None  # still running: the directive was accepted
    finally:
        scratch.cleanup()
    text = output.decode("utf-8", "replace")
    rejected = [line for line in text.splitlines() if line.startswith(">>> 'primary ")]
    if "Bad directive" in text and rejected:
        return f"{rejected[0]}: Bad directive"
    return None


@pytest.fixture(scope="module")
def missing_primary_directive() -> str | None:
    return _primary_directive_missing()


@pytest.fixture(autouse=True)
def require_proxy_mode(missing_primary_directive):
    if missing_primary_directive is not None:
        pytest.skip(f"understudy does not support --primary yet (proxy mode not built): "
                    f"{missing_primary_directive}")


# --- Helpers -------------------------------------------------------------------

def start_understudy(primary_args: list[str]) -> Understudy:
    server = Understudy([*primary_args, *TUNING_ARGS, *CLASS_ARGS])
    try:
        server.start()
    except ServerStartError:
        server.cleanup()
        raise
    return server


def info_understudy(server: Understudy) -> dict[str, str]:
    """The fields of INFO understudy, as strings."""
    with server.client(timeout=2.0) as conn:
        raw = conn.command("INFO", "understudy")
    if not raw.startswith(b"$"):
        raise AssertionError(f"INFO understudy answered {raw!r}")
    body = raw.split(b"\r\n", 1)[1].decode()
    fields = {}
    for line in body.splitlines():
        if ":" in line and not line.startswith("#"):
            name, value = line.split(":", 1)
            fields[name] = value
    return fields


def counter(info: dict[str, str], name: str) -> int:
    assert name in info, f"INFO understudy lacks {name}: {info}"
    return int(info[name])


class StateMonitor:
    """Samples INFO understudy every 10 ms in a thread: (monotonic ns, fields)."""

    def __init__(self, server: Understudy):
        self.server = server
        self.samples: list[tuple[int, dict[str, str]]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="info-monitor", daemon=True)
        self.problems: list[str] = []

    def start(self) -> "StateMonitor":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                fields = info_understudy(self.server)
                self.samples.append((time.monotonic_ns(), fields))
            except Exception as exc:  # noqa: BLE001 - reported by the test
                self.problems.append(f"{type(exc).__name__}: {exc}")
            self._stop.wait(0.01)

    def states(self) -> list[str]:
        """The distinct primary_state values seen, in order."""
        seen: list[str] = []
        for _, fields in list(self.samples):
            state = fields.get("primary_state")
            if not seen or seen[-1] != state:
                seen.append(state)
        return seen

    def wait_for(self, predicate: Callable[[dict[str, str]], bool], after_ns: int,
                 timeout_s: float, what: str) -> tuple[int, dict[str, str]]:
        """The first sample taken after `after_ns` that satisfies `predicate`."""
        def find():
            for at, fields in list(self.samples):
                if at >= after_ns and predicate(fields):
                    return at, fields
            return None
        try:
            return wait_until(find, timeout_s, 0.005, what=what)
        except TimeoutError:
            last = self.samples[-1][1] if self.samples else {}
            raise AssertionError(f"{what} not seen within {timeout_s}s; last INFO: {last}; "
                                 f"states seen: {self.states()}; problems: {self.problems[-3:]}")


@contextlib.contextmanager
def log_on_failure(server: Understudy):
    """Adds the end of understudy's log to a failure inside the block."""
    try:
        yield
    except (AssertionError, TimeoutError) as exc:
        raise AssertionError(f"{exc}\n{server.log_tail(6000)}") from None


def report(line: str) -> None:
    print("\n" + line, flush=True)
    path = os.environ.get("FAILOVER_RESULTS_FILE")
    if path:
        with open(path, "a") as out:
            out.write(line + "\n")


@dataclasses.dataclass
class Fault:
    name: str
    inject: Callable[[], None]
    # Called after `hold_s` of load; returns once the primary (or the new
    # master) is healthy again. None: nothing to repair (CLIENT KILL).
    recover: Callable[[], None] | None
    hold_s: float
    # Whether understudy must see the primary as unavailable.
    real_outage: bool
    # The address understudy must proxy to afterwards.
    final_primary: Callable[[], Primary]


@dataclasses.dataclass
class Outcome:
    summary: Summary
    t0_ns: int
    back_ns: int
    healthy_ns: int
    recovery_ms: float
    info_before: dict[str, str]
    info_healthy: dict[str, str]
    info_end: dict[str, str]
    states: list[str]
    # primary_state values sampled after it was first healthy again
    states_after_healthy: list[str]


def run_fault(understudy: Understudy, fault: Fault) -> Outcome:
    """Load, fault, load, recovery, load; returns what was measured."""
    monitor = StateMonitor(understudy).start()
    gen = LoadGenerator(HOST, understudy.port, clients=CLIENTS, request_timeout_s=5.0,
                        key_tag=f"{fault.name}-")
    try:
        monitor.wait_for(lambda f: f.get("primary_state") == "healthy", 0, 10.0,
                         "primary_state:healthy before the load")
        gen.start()
        wait_until(lambda: gen.replies() >= 200, 10.0, 0.01, what="load warming up")
        time.sleep(WARMUP_S)
        info_before = info_understudy(understudy)
        assert info_before.get("primary_state") == "healthy", info_before
        t0_ns = gen.mark("fault")
        fault.inject()
        time.sleep(fault.hold_s)
        if fault.recover is not None:
            fault.recover()
        back_unix_ms = time.time() * 1000
        back_ns = gen.mark("primary_back")
        bound_s = (PROBE_MAX_INTERVAL_MS + RECOVERY_MARGIN_MS) / 1000 + 5.0
        healthy_ns, info_healthy = monitor.wait_for(
            lambda f: f.get("primary_state") == "healthy"
            and f.get("primary_address") == fault.final_primary().address,
            back_ns, bound_s, f"healthy on {fault.final_primary().address} after {fault.name}")
        gen.mark("healthy")
        # The daemon's own transition instant when it is after the primary
        # was back; else the primary was already usable when the repair
        # call returned (e.g. CLIENT KILL), which counts as 0.
        since_ms = float(info_healthy.get("primary_state_since_ms", back_unix_ms))
        recovery_ms = max(0.0, since_ms - back_unix_ms)
        time.sleep(AFTER_RECOVERY_S)
    finally:
        gen.stop()
        monitor.stop()
    info_end = info_understudy(understudy)
    after = sorted({f.get("primary_state", "?") for at, f in monitor.samples if at >= healthy_ns})
    return Outcome(gen.summary("fault"), t0_ns, back_ns, healthy_ns, recovery_ms, info_before,
                   info_healthy, info_end, monitor.states(), after)


def check_outcome(fault: Fault, outcome: Outcome, understudy: Understudy) -> None:
    s = outcome.summary
    serve_errors = s.errors_of(SERVE_CLASSES)
    strict_errors = s.errors_of(("strict",))
    rejected = strict_errors.get(TRYAGAIN, 0)
    report(f"FAILOVER fault={fault.name} first_local_ms={_fmt(s.first_serve_ok_ms)} "
           f"max_stall_ms={s.max_stall_ms:.1f} errors={sum(serve_errors.values())} "
           f"strict_tryagain={rejected} recovery_ms={outcome.recovery_ms:.0f} "
           f"replay_ms={outcome.info_healthy.get('reconcile_last_duration_ms', '0')} "
           f"replayed={outcome.info_healthy.get('reconcile_replayed', '0')} "
           f"first_reply_ms={_fmt(s.first_reply_ms)} "
           f"throughput_before={s.throughput_before:.0f} throughput_after={s.throughput_after:.0f} "
           f"states={'>'.join(outcome.states)}")
    details = s.describe()
    print(details)

    # 1. No client-visible error on the serve classes, ever.
    assert not serve_errors, f"{fault.name}: errors on outage-serve classes:\n{details}"
    # 2. strict:* only ever gets TRYAGAIN, and only during the outage.
    assert set(strict_errors) <= {TRYAGAIN}, f"{fault.name}: unexpected strict errors:\n{details}"
    window_end = outcome.healthy_ns + REJECT_TAIL_MS * 1_000_000
    for record in s.error_records(("strict",)):
        assert outcome.t0_ns <= record.recv_ns <= window_end, (
            f"{fault.name}: TRYAGAIN {(record.recv_ns - outcome.t0_ns) / 1e6:.0f} ms after the "
            f"fault, outside the outage (healthy again at "
            f"{(outcome.healthy_ns - outcome.t0_ns) / 1e6:.0f} ms; states seen "
            f"{outcome.states}: a flap back to down after recovery also lands here)")
    # 3. While healthy, every reply agrees with the client's own writes
    #    (replies are routed to the right client, in order).
    assert not s.mismatches_before, (
        f"{fault.name}: replies contradicting the clients' writes before the fault:\n{details}")
    #    Never, even after the fault, a reply of the wrong type or another
    #    key's value: that would be a reply handed to the wrong request.
    assert not s.foreign, f"{fault.name}: replies that belong to other requests:\n{details}"
    # 4. Nobody waited long, and the clients were answered after the fault.
    assert s.first_serve_ok_ms is not None and s.first_serve_ok_ms < FIRST_LOCAL_BOUND_MS, details
    assert s.max_stall_ms < MAX_STALL_BOUND_MS, details
    # 5. A real outage was seen and handled locally.
    before, healthy, end = outcome.info_before, outcome.info_healthy, outcome.info_end
    if fault.real_outage:
        assert counter(end, "primary_transitions") >= counter(before, "primary_transitions") + 2, (
            f"{fault.name}: no down/up transitions; states seen {outcome.states}")
        assert counter(end, "requests_local") > counter(before, "requests_local"), end
        served = [r for r in s.records
                  if r.klass in SERVE_CLASSES and r.error is None and r.recv_ns is not None
                  and outcome.t0_ns + (PRIMARY_TIMEOUT_MS + 100) * 1_000_000 < r.recv_ns
                  < outcome.back_ns]
        assert served, f"{fault.name}: no serve-class reply during the outage:\n{details}"
        assert rejected > 0, f"{fault.name}: no strict:* request was rejected:\n{details}"
        assert counter(end, "requests_rejected") > counter(before, "requests_rejected"), end
    # 6. Back to proxying, promptly, to the right server. Healthy comes after
    # the outage's writes are replayed onto the primary (docs/journal.md),
    # so the bound is the probe's plus the replay's own duration.
    replay_ms = int(outcome.info_healthy.get("reconcile_last_duration_ms", "0"))
    assert outcome.recovery_ms <= PROBE_MAX_INTERVAL_MS + RECOVERY_MARGIN_MS + replay_ms, (
        f"{fault.name}: healthy {outcome.recovery_ms:.0f} ms after the primary was; "
        f"bound {PROBE_MAX_INTERVAL_MS} + {RECOVERY_MARGIN_MS} ms + replay {replay_ms} ms")
    assert outcome.states_after_healthy == ["healthy"], (
        f"{fault.name}: left healthy again after recovering (stale upstream connections?); "
        f"states seen {outcome.states}")
    assert end.get("primary_state") == "healthy", end
    assert end.get("primary_address") == fault.final_primary().address, end
    assert counter(end, "requests_proxied") > counter(healthy, "requests_proxied"), (
        f"{fault.name}: nothing proxied after recovery: {end}")
    check_writes_reach(understudy, fault.final_primary(), fault.name)


def check_writes_reach(understudy: Understudy, primary: Primary, tag: str) -> None:
    """New writes through understudy are on the primary (read directly)."""
    through = redis.Redis(host=HOST, port=understudy.port, socket_timeout=5)
    try:
        assert through.set(f"session:after-{tag}", "fresh", ex=600) is True
        assert through.sadd(f"blacklist:after-{tag}", "token") == 1
        assert through.incrby(f"rl:after-{tag}", 7) == 7
        assert through.set(f"strict:after-{tag}", "strict-value") is True
    finally:
        through.close()
    with primary.admin() as direct:
        assert direct.get(f"session:after-{tag}") == b"fresh"
        assert 0 < direct.ttl(f"session:after-{tag}") <= 600
        assert direct.sismember(f"blacklist:after-{tag}", "token") == 1
        assert direct.get(f"rl:after-{tag}") == b"7"
        assert direct.get(f"strict:after-{tag}") == b"strict-value"


def _fmt(value: float | None) -> str:
    return "none" if value is None else f"{value:.1f}"


# --- One primary ------------------------------------------------------------------

@pytest.fixture
def proxy(primary):
    """understudy proxying to `primary`, once it reports the primary healthy
    (right after start it may still be connecting and answer locally)."""
    server = start_understudy(["--primary", HOST, str(primary.port)])
    try:
        with log_on_failure(server):
            wait_until(lambda: info_understudy(server).get("primary_state") == "healthy", 10.0,
                       0.01, what="primary_state:healthy after start")
        yield server
    finally:
        server.cleanup()


def _fault(name: str, primary: Primary) -> Fault:
    if name == "sigkill":
        return Fault(name, primary.kill, primary.restart, 1.0, True, lambda: primary)
    if name == "sigstop":
        return Fault(name, primary.pause, primary.resume, 1.0, True, lambda: primary)
    if name == "loading_restart":
        primary.prepare_dataset()
        return Fault(name, lambda: primary.restart_loading(LOADING_S), primary.wait_loaded, 0.0,
                     True, lambda: primary)
    if name == "loading_in_place":
        primary.prepare_dataset()
        return Fault(name, lambda: primary.reload_in_place(LOADING_S), primary.wait_loaded, 0.0,
                     True, lambda: primary)
    if name == "client_kill":
        def kill_connections():
            # Fails the test if understudy had no upstream connection to lose.
            assert primary.kill_clients() >= 1, "CLIENT KILL found no connection of understudy"
        return Fault(name, kill_connections, None, 0.5, False, lambda: primary)
    raise ValueError(name)


@pytest.mark.parametrize("fault_name", ["sigkill", "sigstop", "loading_restart",
                                        "loading_in_place", "client_kill"])
def test_failover_on_primary_fault(primary, proxy, fault_name):
    fault = _fault(fault_name, primary)
    with log_on_failure(proxy):
        outcome = run_fault(proxy, fault)
        check_outcome(fault, outcome, proxy)


# --- Sentinel -------------------------------------------------------------------------

@pytest.fixture
def sentinel_group():
    group = SentinelGroup(sentinels=3, down_after_ms=1000, failover_timeout_ms=3000).start()
    try:
        yield group
    finally:
        group.cleanup()


@pytest.mark.parametrize("how", ["sentinel_failover", "sentinel_master_killed"])
def test_failover_under_sentinel(sentinel_group, how):
    args = []
    for port in sentinel_group.sentinel_ports:
        args += ["--primary-sentinel", HOST, str(port)]
    args += ["--primary-name", sentinel_group.name]
    server = start_understudy(args)
    try:
        with log_on_failure(server):
            wait_until(lambda: info_understudy(server).get("primary_address")
                       == sentinel_group.master.address, 10.0, 0.02,
                       what=f"understudy proxying to the master {sentinel_group.master.address} "
                            f"named by the sentinels")
        if how == "sentinel_failover":
            # SENTINEL FAILOVER: the old master stays a writable master for
            # ~10 s, so only following +switch-master moves understudy.
            inject, real_outage = sentinel_group.failover, False
        else:
            inject, real_outage = sentinel_group.kill_master_and_wait, True
        fault = Fault(how, inject, None, 0.0, real_outage, lambda: sentinel_group.master)
        with log_on_failure(server):
            outcome = run_fault(server, fault)
            check_outcome(fault, outcome, server)
    finally:
        server.cleanup()


# --- Real clients through the proxy -----------------------------------------------

def test_redis_py_pipelines_and_transactions_reach_the_primary(primary, proxy):
    r = redis.Redis(host=HOST, port=proxy.port, socket_timeout=5)
    other = redis.Redis(host=HOST, port=proxy.port, socket_timeout=5)
    try:
        with r.pipeline(transaction=False) as pipe:
            pipe.set("session:py:1", "a").incr("rl:py:1").sadd("blacklist:py:1", "t1")
            pipe.get("session:py:1").get("strict:py:none")
            assert pipe.execute() == [True, 1, 1, b"a", None]

        with r.pipeline(transaction=True) as pipe:
            pipe.incrby("rl:py:1", 5).hset("session:py:h", mapping={"f": "v", "g": "w"})
            pipe.expire("session:py:1", 300).smembers("blacklist:py:1")
            assert pipe.execute() == [6, 2, True, {b"t1"}]

        # A long pipeline: every reply in order.
        with r.pipeline(transaction=False) as pipe:
            for i in range(500):
                pipe.set(f"session:py:p{i}", f"value-{i}")
            for i in range(500):
                pipe.get(f"session:py:p{i}")
            replies = pipe.execute()
        assert replies[:500] == [True] * 500
        assert replies[500:] == [f"value-{i}".encode() for i in range(500)]

        # WATCH/MULTI/EXEC, the optimistic-locking helper.
        def add_one(pipe):
            current = int(pipe.get("rl:py:2") or 0)
            pipe.multi()
            pipe.set("rl:py:2", current + 1)
        for _ in range(3):
            assert r.transaction(add_one, "rl:py:2") == [True]

        # A write on the primary itself, after WATCH, aborts the EXEC: the
        # WATCH is held on the primary, not only in understudy's store.
        with r.pipeline(transaction=True) as pipe:
            pipe.watch("session:py:w")
            with primary.admin() as direct:
                direct.set("session:py:w", "theirs")
            pipe.multi()
            pipe.set("session:py:w", "mine")
            with pytest.raises(redis.WatchError):
                pipe.execute()
        # ... and so does one from another client of understudy.
        with r.pipeline(transaction=True) as pipe:
            pipe.watch("session:py:w2")
            other.set("session:py:w2", "theirs")
            pipe.multi()
            pipe.set("session:py:w2", "mine")
            with pytest.raises(redis.WatchError):
                pipe.execute()
        # MULTI with no conflict executes.
        with r.pipeline(transaction=True) as pipe:
            pipe.watch("session:py:w3")
            pipe.multi()
            pipe.set("session:py:w3", "mine")
            assert pipe.execute() == [True]
    finally:
        r.close()
        other.close()

    with primary.admin() as direct:
        assert direct.get("session:py:1") == b"a"
        assert 0 < direct.ttl("session:py:1") <= 300
        assert direct.get("rl:py:1") == b"6"
        assert direct.smembers("blacklist:py:1") == {b"t1"}
        assert direct.hgetall("session:py:h") == {b"f": b"v", b"g": b"w"}
        assert direct.get("session:py:p499") == b"value-499"
        assert direct.get("rl:py:2") == b"3"
        assert direct.get("session:py:w") == b"theirs"
        assert direct.get("session:py:w2") == b"theirs"
        assert direct.get("session:py:w3") == b"mine"
    info = info_understudy(proxy)
    assert info.get("primary_state") == "healthy", info
    assert counter(info, "requests_proxied") >= 1000, info


@pytest.mark.skipif(REDIS_CLI is None, reason="redis-cli not installed")
def test_redis_cli_through_the_proxy(primary, proxy):
    def cli(*args, stdin: bytes | None = None) -> subprocess.CompletedProcess:
        return subprocess.run([REDIS_CLI, "-h", HOST, "-p", str(proxy.port), *args],
                              input=stdin, capture_output=True, timeout=30, check=False)

    assert cli("SET", "session:cli:1", "hello").stdout == b"OK\n"
    assert cli("GET", "session:cli:1").stdout == b"hello\n"
    assert cli("INCRBY", "rl:cli:1", "41").stdout == b"41\n"
    result = cli(stdin=b"SADD blacklist:cli:1 tok\nSISMEMBER blacklist:cli:1 tok\n"
                       b"SET strict:cli:1 x\nPING\n")
    assert result.stdout.split() == [b"1", b"1", b"OK", b"PONG"], result
    assert result.stderr == b""
    with primary.admin() as direct:
        assert direct.get("session:cli:1") == b"hello"
        assert direct.get("rl:cli:1") == b"41"
        assert direct.sismember("blacklist:cli:1", "tok") == 1
        assert direct.get("strict:cli:1") == b"x"
