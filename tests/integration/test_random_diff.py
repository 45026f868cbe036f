"""Randomized differential test: seeded streams of mixed commands, sent to
a real redis-server 7.0 and to understudy, every reply compared.

The streams come from support/randgen.py (families of commands over a small
key space where types collide), the comparison from support/randdiff.py.
Odd seeds run with tiny encoding limits (CONFIG SET hash-max-listpack-entries
4 and so on) so that every collection converts between its compact and its
large representation; even seeds use the defaults.

Tests:
  test_random_mixed[resp2|resp3]    all families together (except
      "encodings"), RANDOM_DIFF_SEEDS x RANDOM_DIFF_COMMANDS steps.
  test_random_family[<family>-resp2|resp3]   one family with the few others
      it needs (FAMILY_RUNS), the first two seeds, RANDOM_DIFF_FAMILY_COMMANDS
      steps. A family the target does not implement fails, it never skips.

Environment:
  RANDOM_DIFF_SEEDS             comma-separated seeds (default 1,2,3,4), or
                                "random" for four fresh ones (printed).
  RANDOM_DIFF_COMMANDS          steps per seed for the mixed test (3000).
  RANDOM_DIFF_FAMILY_COMMANDS   steps per seed for a family test (1000).
  RANDOM_DIFF_SHRINK_SECONDS    time to cut down a failing replay (20).
  DIFF_TARGET=redis             compare against a second redis-server, to
                                check that the streams are deterministic.

A failure prints the seed, the step index, both replies, and the commands
that touch the keys involved (checked again on empty databases), e.g.:
  RANDOM_DIFF_SEEDS=3 /usr/bin/python3 -m pytest tests/integration/test_random_diff.py -k mixed
  /usr/bin/python3 tests/integration/support/randgen.py --seed 3 --families ... --count 200
"""

from __future__ import annotations

import os
import random
import time

import pytest

from support.randdiff import (RUN_CONFIG, SMALL_ENCODINGS, DiffRunner, flush, minimal_replay,
                              read_config, replay_listing, shrink, write_config)
from support.randgen import FAMILIES, CommandGenerator

# The families each per-family test runs. Collection families run with
# "multi" so that WATCH sees (or does not see) their writes: every handler
# must report exactly the keys it really modified.
FAMILY_RUNS = {
    "strings": ["strings"],
    "keys": ["keys", "strings"],
    "hashes": ["hashes", "multi"],
    "sets": ["sets", "multi"],
    "zsets": ["zsets", "multi"],
    "lists": ["lists", "multi"],
    "blocking": ["blocking", "lists", "zsets"],
    "multi": ["multi", "strings", "keys"],
    "encodings": ["encodings", "hashes", "sets", "zsets", "lists"],
}
MIXED_FAMILIES = [name for name in FAMILIES if name != "encodings"]
VARIANTS = ["resp2", "resp3"]
MAX_REPLAY_LINES = 120
# Time allowed for cutting a failing replay down, per failure.
SHRINK_SECONDS = float(os.environ.get("RANDOM_DIFF_SHRINK_SECONDS", "20"))


def _seeds() -> list[int]:
    configured = os.environ.get("RANDOM_DIFF_SEEDS", "1,2,3,4").strip()
    if configured == "random":
        seeds = [random.randrange(1, 1 << 31) for _ in range(4)]
        print(f"random seeds: {','.join(map(str, seeds))}")
        return seeds
    return [int(part) for part in configured.split(",") if part.strip()]


SEEDS = _seeds()
MIXED_COMMANDS = int(os.environ.get("RANDOM_DIFF_COMMANDS", "3000"))
FAMILY_COMMANDS = int(os.environ.get("RANDOM_DIFF_FAMILY_COMMANDS", "1000"))


def _revive(server) -> str:
    """Restarts a server that died (or no longer answers PING) during a run;
    returns its log for the report, or "" if it was fine."""
    if server.is_alive():
        try:
            with server.client(timeout=2.0) as probe:
                if probe.command("PING") in (b"+PONG\r\n",):
                    return ""
        except Exception:  # noqa: BLE001 - crashed or crashing; restart below
            pass
        if server.process is not None:
            try:
                server.process.wait(timeout=2.0)  # let a crash finish
            except Exception:  # noqa: BLE001 - hung: restart() kills it
                pass
    log = server.log_tail()
    server.restart()
    return f"\n{server.label} DIED or stopped answering (restarted):\n{log}"


def _describe_settings(settings: dict[bytes, bytes]) -> str:
    return " ".join(f"{name.decode()} {value.decode()}" for name, value in settings.items())


def _explain(ref, target, steps, mismatch, resp3: bool, settings, title: str,
             generator_args: str) -> str:
    """The failure report: the mismatch, whether a server died, and the
    shortest replay found that still shows it on empty databases."""
    report = [title, mismatch.describe()]
    report.append(_revive(target) + _revive(ref))
    replay = minimal_replay(steps, mismatch.step)

    def reproduces(candidate) -> bool:
        """Same failing step on empty databases (servers revived)."""
        for server in (ref, target):
            _revive(server)
            flush(server)
        replay_runner = DiffRunner(ref, target, resp3)
        try:
            again = replay_runner.run(candidate)
        finally:
            replay_runner.close()
        _revive(target)
        _revive(ref)
        return again is not None and again.step is mismatch.step

    if reproduces(replay):
        closure_size = len(replay)
        replay = shrink(replay, reproduces, SHRINK_SECONDS)
        verdict = (f"reproduces on empty databases; cut down from {closure_size} "
                   f"steps that touch the keys involved")
    else:
        verdict = ("the steps touching the keys involved do NOT reproduce it on "
                   "their own; rerun the whole seed")
    lines = replay_listing(replay)
    if len(lines) > MAX_REPLAY_LINES:
        lines = lines[:10] + [f"... {len(lines) - MAX_REPLAY_LINES} lines left out ..."] + \
            lines[-(MAX_REPLAY_LINES - 10):]
    report.append(f"minimal replay ({len(replay)} of {mismatch.step.index + 1} steps; "
                  f"{'RESP3 (HELLO 3), ' if resp3 else ''}"
                  f"CONFIG SET {_describe_settings(settings)}, "
                  f"{verdict}):")
    report += ["  " + line for line in lines]
    report.append(f"list the stream: support/randgen.py {generator_args} "
                  f"--count {mismatch.step.index + 1}")
    return "\n".join(part for part in report if part)


def run_seed(ref, target, families: list[str], seed: int, count: int, variant: str) -> str | None:
    """Runs one seed; returns a failure report or None."""
    resp3 = variant == "resp3"
    profile = SMALL_ENCODINGS if seed % 2 else {}
    settings = {**RUN_CONFIG, **profile}
    saved = {}
    header = (f"seed {seed}, {variant}, families {','.join(families)}, {count} steps, "
              f"encoding limits: {'small' if profile else 'default'}")
    try:
        for server in (ref, target):
            _revive(server)
            flush(server)
            saved[server.label] = read_config(server, settings)
            write_config(server, settings)
        steps = CommandGenerator(seed, families).steps(count)
        runner = DiffRunner(ref, target, resp3)
        started = time.monotonic()
        try:
            mismatch = runner.run(steps)
        finally:
            runner.close()
        print(f"{header}: {runner.commands_run} commands in {time.monotonic() - started:.1f} s"
              f"{' -> MISMATCH' if mismatch else ''}")
        if mismatch is None:
            return None
        return _explain(ref, target, steps, mismatch, resp3, settings,
                        f"MISMATCH at {header} (rerun: RANDOM_DIFF_SEEDS={seed})",
                        f"--seed {seed} --families {','.join(families)}")
    finally:
        for server in (ref, target):
            if server.label in saved and server.is_alive():
                write_config(server, saved[server.label])


def _run(redis_ref, understudy, families, seeds, count, variant) -> None:
    failures = []
    for seed in seeds:
        try:
            problem = run_seed(redis_ref, understudy, families, seed, count, variant)
        except Exception as exc:  # noqa: BLE001 - report it with the seed, go on
            problem = f"seed {seed}, {variant}: {type(exc).__name__}: {exc}"
            problem += _revive(understudy) + _revive(redis_ref)
        if problem:
            failures.append(problem)
    if failures:
        pytest.fail("\n\n".join(failures), pytrace=False)


@pytest.mark.parametrize("variant", VARIANTS)
def test_random_mixed(redis_ref, understudy, variant):
    _run(redis_ref, understudy, MIXED_FAMILIES, SEEDS, MIXED_COMMANDS, variant)


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("family", list(FAMILY_RUNS))
def test_random_family(redis_ref, understudy, family, variant):
    _run(redis_ref, understudy, FAMILY_RUNS[family], SEEDS[:2], FAMILY_COMMANDS, variant)


def test_every_family_has_a_run():
    assert sorted(FAMILY_RUNS) == sorted(FAMILIES)
    for families in FAMILY_RUNS.values():
        # The generator accepts the combination and yields commands of the
        # family the run is named after.
        steps = CommandGenerator(1, families).steps(200)
        assert {step.family for step in steps} >= {families[0]}


def test_streams_are_reproducible():
    first = CommandGenerator(7, MIXED_FAMILIES).steps(300)
    second = CommandGenerator(7, MIXED_FAMILIES).steps(300)
    assert [[c.args for c in s.commands] for s in first] == \
        [[c.args for c in s.commands] for s in second]
    other = CommandGenerator(8, MIXED_FAMILIES).steps(300)
    assert [[c.args for c in s.commands] for s in first] != \
        [[c.args for c in s.commands] for s in other]
