"""A crash in the middle of a replay, and writes in flight at a failover
(issue 6, "What it must show" point 2; docs/reconciliation.md, "Exactly
once" and "Testing"; docs/primary-link.md, "Writes whose outcome on the
primary is unknown").

A long outage journal is built: REPLAY_CRASH_INCRS (default 40,000)
pipelined INCRBYs on REPLAY_CRASH_KEYS (default 300) counter keys through
understudy while the primary (appendonly yes, appendfsync always) is down.
The primary is restarted and, while `INFO understudy` shows
`reconcile_running:1` with `0 < reconcile_replayed < total`:

  - test_daemon_killed_mid_replay: understudy is SIGKILLed. The primary then
    holds exactly the batches up to its checkpoint (read atomically with the
    counters: each counter equals its initial value plus the increments of
    the journal records up to that sequence number, in send order). The
    daemon restarts on the same working directory and finishes the replay;
    every counter is exact.
  - test_primary_killed_mid_replay: the primary is SIGKILLed. understudy is
    SIGSTOPped while the primary restarts from its AOF, so the state the
    crash left can be read: again exactly the batches up to the checkpoint,
    strictly between none and all. understudy is continued, resumes after
    the checkpoint, and every counter is exact.

test_inflight_increments_at_failover: a pipelined burst of INCRs on one key
while the primary is SIGKILLed. Every INCR gets a reply (none is refused).
The documented rule for a counter write in flight when the primary fails:
it is applied locally and journaled whether or not the primary executed it,
so it is counted at least once and at most twice. The final value on the
primary must lie in [initial + acknowledged, initial + acknowledged +
requests_failed_over]; the test prints how many were counted twice.
"""

from __future__ import annotations

import os
import random
import signal
import threading
import time

import pytest
import redis

from support.primary import Primary, wait_until
from support.proxied import ProxiedUnderstudy, info_understudy, wait_state
from support.servers import HOST

CLASSES = [
    "--class", "rate", "rl:*", "mirror", "yes", "merge", "counter",
    "--primary-probe-interval", "50", "--primary-probe-max-interval", "200",
    "--primary-timeout", "3000",
]
INCRS = int(os.environ.get("REPLAY_CRASH_INCRS", "40000"))
KEYS = int(os.environ.get("REPLAY_CRASH_KEYS", "300"))
CHUNK = 5000



@pytest.fixture
def daemon(durable_primary):
    host = ProxiedUnderstudy(durable_primary.port, CLASSES)
    host.start_healthy()
    yield host
    if host.process is not None and host.is_alive():
        os.kill(host.process.pid, signal.SIGCONT)  # in case a test left it stopped
    host.cleanup()


def client(daemon: ProxiedUnderstudy) -> redis.Redis:
    return redis.Redis(host=HOST, port=daemon.port, socket_timeout=30)


def key(i: int) -> str:
    return f"rl:r:{i}"


def wait_reconciled(daemon: ProxiedUnderstudy, timeout_s: float = 60.0) -> dict[str, str]:
    deadline = time.monotonic() + timeout_s
    while True:
        info = wait_state(daemon, "healthy", max(0.5, deadline - time.monotonic()))
        if info.get("journal_records_pending") == "0":
            return info
        assert time.monotonic() < deadline, f"healthy but journal not empty: {info}"
        time.sleep(0.01)


def done_lines(daemon: ProxiedUnderstudy) -> str:
    """The daemon's "reconciliation done" log lines (counts, duration)."""
    text = daemon.log_path.read_text(errors="replace")
    return "\n".join(line for line in text.splitlines()
                     if "reconciliation done" in line and "writes replayed" in line)


class Outage:
    """A primary kill followed by INCRS journaled increments, and what they add."""

    def __init__(self, primary: Primary, daemon: ProxiedUnderstudy, seed: int):
        self.primary = primary
        self.daemon = daemon
        rng = random.Random(seed)
        r = client(daemon)
        self.initial = {key(i): rng.randrange(1000) for i in range(KEYS)}
        r.mset(self.initial)  # proxied: the primary holds these
        self.sends = [(key(rng.randrange(KEYS)), rng.randint(1, 9)) for _ in range(INCRS)]
        self.expected = dict(self.initial)
        for name, amount in self.sends:
            self.expected[name] += amount
        wait_until(lambda: info_understudy(daemon)["mirror_state"] == "live", 10.0,
                   what="mirror live")
        time.sleep(0.05)
        before = int(info_understudy(daemon)["journal_last_seq"])
        primary.kill()
        started = time.monotonic()
        for offset in range(0, INCRS, CHUNK):
            pipe = r.pipeline(transaction=False)
            for name, amount in self.sends[offset:offset + CHUNK]:
                pipe.incrby(name, amount)
            replies = pipe.execute()
            assert all(isinstance(reply, int) for reply in replies)
        journal_s = time.monotonic() - started
        info = info_understudy(daemon)
        self.last_seq = int(info["journal_last_seq"])
        # The outage's marker record, then one record per INCRBY, in send
        # order (one client, one pipeline).
        assert self.last_seq - before == INCRS + 1, info
        self.first_seq = before + 2
        assert int(info["journal_records_pending"]) >= INCRS
        r.close()
        self.journal_id = (daemon.workdir / "understudy-journal.id").read_text().strip()
        print(f"\njournaled {INCRS} INCRBY on {KEYS} keys in {journal_s:.2f}s "
              f"(seq {self.first_seq}..{self.last_seq})")

    def expected_after(self, checkpoint: int) -> dict[str, int]:
        """The counters once the records up to `checkpoint` are applied, no others."""
        values = dict(self.initial)
        for name, amount in self.sends[:max(0, checkpoint - self.first_seq + 1)]:
            values[name] += amount
        return values

    def primary_state(self) -> tuple[int, dict[str, int]]:
        """The checkpoint and every counter, read in one transaction."""
        names = list(self.initial)
        with self.primary.admin(timeout=10) as direct:
            pipe = direct.pipeline(transaction=True)
            pipe.get(f"understudy:reconciled:{self.journal_id}")
            pipe.mget(names)
            checkpoint, values = pipe.execute()
        return (int(checkpoint) if checkpoint is not None else 0,
                {name: int(v) for name, v in zip(names, values)})

    def catch_mid_replay(self, at_least: int, timeout_s: float = 30.0) -> dict[str, str]:
        """Polls INFO until the replay runs with `at_least` records replayed
        (but not all); returns the INFO."""
        deadline = time.monotonic() + timeout_s
        info: dict[str, str] = {}
        while time.monotonic() < deadline:
            info = info_understudy(self.daemon)
            replayed = int(info.get("reconcile_replayed", "0"))
            if info.get("reconcile_running") == "1" and max(1, at_least) <= replayed < INCRS:
                return info
            if info.get("primary_state") == "healthy":
                break
            time.sleep(0.001)
        pytest.fail(f"the replay was not caught while running (raise REPLAY_CRASH_INCRS): {info}")

    def assert_exact(self, label: str) -> None:
        checkpoint, values = self.primary_state()
        wrong = {n: (values[n], want) for n, want in self.expected.items() if values[n] != want}
        assert not wrong, (f"{label}: {len(wrong)} counters differ (primary, expected), e.g. "
                           f"{dict(list(wrong.items())[:10])}")
        assert checkpoint >= self.last_seq


def assert_prefix(outage: Outage, checkpoint: int, values: dict[str, int], what: str) -> None:
    assert outage.first_seq <= checkpoint < outage.last_seq, (
        f"{what}: checkpoint {checkpoint} is not inside the replay "
        f"({outage.first_seq}..{outage.last_seq})")
    want = outage.expected_after(checkpoint)
    wrong = {n: (values[n], w) for n, w in want.items() if values[n] != w}
    assert not wrong, (f"{what}: the primary does not hold exactly the records up to its "
                       f"checkpoint {checkpoint}: {len(wrong)} counters differ (primary, "
                       f"expected), e.g. {dict(list(wrong.items())[:10])}")


def test_daemon_killed_mid_replay(durable_primary, daemon):
    primary = durable_primary
    outage = Outage(primary, daemon, seed=1)
    primary.restart()
    started = time.monotonic()
    info = outage.catch_mid_replay(INCRS // 4)
    os.kill(daemon.process.pid, signal.SIGKILL)
    daemon.process.wait(timeout=10)
    daemon.stop()
    print(f"understudy SIGKILLed {time.monotonic() - started:.3f}s after the primary restart, "
          f"reconcile_replayed {info['reconcile_replayed']} of {INCRS}")

    # The daemon's connection is gone: a batch it had sent is either whole on
    # the primary (with its checkpoint) or not at all.
    checkpoint, values = outage.primary_state()
    assert_prefix(outage, checkpoint, values, "after the daemon's crash")
    print(f"checkpoint on the primary: {checkpoint - outage.first_seq + 1} of {INCRS} records")

    daemon.start()  # same working directory: journal, snapshot, journal id
    log = daemon.log_path.read_text(errors="replace")
    assert "an outage not yet reconciled" in log
    info = wait_reconciled(daemon)
    print(done_lines(daemon))
    outage.assert_exact("after the restarted daemon's replay")
    assert int(info["reconcile_replayed"]) < INCRS  # it resumed; it did not start over


def test_primary_killed_mid_replay(durable_primary, daemon):
    primary = durable_primary
    outage = Outage(primary, daemon, seed=2)
    log_before = daemon.log_path.stat().st_size
    primary.restart()
    info = outage.catch_mid_replay(INCRS // 2)
    primary.kill()
    print(f"primary SIGKILLed at reconcile_replayed {info['reconcile_replayed']} of {INCRS}")

    def log_since() -> str:
        with open(daemon.log_path, "rb") as f:
            f.seek(log_before)
            return f.read().decode(errors="replace")

    wait_until(lambda: "reconciliation stopped after" in log_since(), 10.0,
               what="the daemon's reconciliation stopped")
    assert "reconciliation done" not in log_since()
    # Freeze understudy while the primary restarts, to read what the crash left.
    os.kill(daemon.process.pid, signal.SIGSTOP)
    try:
        primary.restart()  # from its AOF (appendfsync always)
        primary.wait_loaded()
        checkpoint, values = outage.primary_state()
        assert_prefix(outage, checkpoint, values, "after the primary's crash and restart")
        print(f"checkpoint on the restarted primary: {checkpoint - outage.first_seq + 1} "
              f"of {INCRS} records")
    finally:
        os.kill(daemon.process.pid, signal.SIGCONT)
    wait_reconciled(daemon)
    print(done_lines(daemon))
    outage.assert_exact("after the resumed replay")
    assert "reconciliation done" in log_since()


def test_inflight_increments_at_failover(durable_primary, daemon):
    """Counter writes in flight when the primary dies: at least once, at most twice."""
    primary = durable_primary
    burst = 30_000
    initial = 1000
    name = "rl:inflight"
    r = client(daemon)
    r.set(name, initial)
    wait_until(lambda: info_understudy(daemon)["mirror_state"] == "live", 10.0,
               what="mirror live")
    failed_over_before = int(info_understudy(daemon)["requests_failed_over"])
    replies: list[object] = []
    errors: list[BaseException] = []

    def send_burst() -> None:
        try:
            pipe = r.pipeline(transaction=False)
            for _ in range(burst):
                pipe.incr(name)
            replies.extend(pipe.execute(raise_on_error=False))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    sender = threading.Thread(target=send_burst, name="incr-burst", daemon=True)
    sender.start()
    try:
        # Kill once the primary has counted part of the burst: the rest is in
        # flight (sent to the primary, or still on its way through understudy).
        with primary.admin(timeout=2) as direct:
            wait_until(lambda: int(direct.get(name) or 0) >= initial + burst // 10, 20.0,
                       0.0005, what="the burst reaching the primary")
        primary.kill()
    finally:
        sender.join(timeout=60)
    assert not sender.is_alive(), "the burst did not finish"
    assert not errors, errors
    refused = [reply for reply in replies if not isinstance(reply, int)]
    assert len(replies) == burst and not refused, refused[:5]
    in_flight = int(info_understudy(daemon)["requests_failed_over"]) - failed_over_before
    assert in_flight > 0, "no request was in flight when the primary was killed"

    primary.restart()
    wait_reconciled(daemon)
    with primary.admin() as direct:
        final = int(direct.get(name))
    counted_twice = final - (initial + burst)
    print(f"\nin-flight burst: {burst} INCRs acknowledged, {in_flight} in flight at the kill, "
          f"final {final}: {counted_twice} counted twice")
    # At least once: no acknowledged increment is lost.
    assert final >= initial + burst, f"{-counted_twice} acknowledged increments lost"
    # At most once more for each write that was in flight.
    assert final <= initial + burst + in_flight, (
        f"{counted_twice} counted twice, but only {in_flight} were in flight")
    r.close()
