"""Model-based randomized test of outages and reconciliation (issue 6,
"What it must show" point 1; docs/reconciliation.md, "Testing").

A seeded generator (random.Random(seed)) drives three redis-py clients,
interleaved from one thread, through ONE understudy in front of a durable
primary (redis-server, appendonly yes, appendfsync always). Writes mix the
three merge rules:

  union   bl:s:* sets (SADD, SREM, DEL), bl:t:* strings (SET .. EX, EXPIRE, DEL)
  lww     sess:s:* strings (SET [EX], DEL, EXPIRE, PERSIST),
          sess:h:* hashes (HSET, HDEL, DEL, EXPIRE)
  counter rl:c:* strings (INCR, INCRBY, DECRBY; sometimes EXPIRE or DEL),
          rl:h:* hashes (HINCRBY; sometimes EXPIRE or DEL)

Each seed runs 2-3 outage cycles: a healthy phase (writes reach the primary;
the model applies them to its primary store P), the primary SIGKILLed
between two requests, an outage phase (writes applied to the model's local
store L and recorded in its journal J), the primary restarted (same AOF),
then a "recovery window" of writes while understudy reconciles, then a wait
for `primary_state:healthy` and `journal_records_pending:0`, when the model
replays J onto P with the merge rules:

  union   additions only, in order: SADD adds members; SET creates the key
          if the primary lacks it, else keeps its value and moves its
          deadline later (no deadline beats any); EXPIRE/PERSIST only move an
          existing key's deadline later; SREM and DEL are not replayed;
  lww     each touched key gets its final local state (value and deadline,
          or deleted);
  counter the primary's value += the sum of the local deltas (per hash
          field); an absent key is created with the local key's deadline;
          EXPIRE (a positive TTL) keeps it a counter, and the primary key
          (if any) then gets the local key's deadline; any other write
          (DEL) makes the key lww for that reconciliation.

In some seeds the primary is killed again inside the recovery window (often
in the middle of the replay), and in some understudy itself is SIGKILLed and
restarted (same working directory) during the outage or the recovery window.
After a restart during the outage, understudy's local store must equal L.
At each outage start the local store (mirror plus write-through) must equal
the primary's contents. At the end the primary's keys must equal P, key by
key: type, value, and deadline within DEADLINE_TOLERANCE_MS.

Ambiguous writes are avoided by construction (docs/primary-link.md, "Writes
whose outcome on the primary is unknown"): the primary is killed from the
same thread, between requests, so no write is ever in flight at a kill. In
the recovery window a write may be served locally (and replayed) or proxied
(after the daemon became healthy); only writes whose outcome is the same
either way are issued there (no union SREM/DEL/SET/EXPIRE).
test_replay_crash.py covers in-flight writes.

Every reply is compared with the model too, except union replies in the
recovery window (the primary and the local store legitimately differ on
union keys after an outage: a local SREM is not replayed).

Seeds: OUTAGE_MODEL_SEEDS=N runs seeds 0..N-1 (default 50, for CI);
OUTAGE_MODEL_SEEDS=A-B runs seeds A..B-1; OUTAGE_MODEL_SEEDS=random runs 50
seeds from a random start (printed). One seed takes about 2-4 s:

  UNDERSTUDY_BIN=... /usr/bin/python3 -m pytest -q tests/integration/test_outage_model.py
  OUTAGE_MODEL_SEEDS=500 ... -x   # a longer run
  ... -k 'seed_17]'              # one seed

A failure names the seed, the phase log and the differing keys;
OUTAGE_MODEL_VERBOSE=1 (with -s) prints the phase log of passing seeds too.
"""

from __future__ import annotations

import copy
import dataclasses
import os
import random
import signal
import time

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
    # A slow fsync on a busy CI disk must not turn the primary `suspect`
    # (which would serve healthy-phase writes locally); kills are seen at
    # once anyway (connection reset / refused).
    "--primary-timeout", "3000",
]

DEADLINE_TOLERANCE_MS = 1500
CLIENTS = 3
# Pools small enough that keys collide often.
UNION_SETS = [f"bl:s:{i}" for i in range(5)]
UNION_STRINGS = [f"bl:t:{i}" for i in range(5)]
LWW_STRINGS = [f"sess:s:{i}" for i in range(5)]
LWW_HASHES = [f"sess:h:{i}" for i in range(4)]
COUNTERS = [f"rl:c:{i}" for i in range(5)]
COUNTER_HASHES = [f"rl:h:{i}" for i in range(3)]
ALL_KEYS = [*UNION_SETS, *UNION_STRINGS, *LWW_STRINGS, *LWW_HASHES, *COUNTERS, *COUNTER_HASHES]
CHECKPOINT_PREFIX = b"understudy:"
SNAPSHOT_LINE = "snapshot understudy-snapshot.uss:"
INCR_COMMANDS = {"INCR", "INCRBY", "DECRBY", "HINCRBY"}


def seeds_to_run() -> list[int]:
    spec = os.environ.get("OUTAGE_MODEL_SEEDS", "50").strip().lower()
    if spec == "random":
        start = random.SystemRandom().randrange(1_000_000)
        print(f"OUTAGE_MODEL_SEEDS=random: seeds {start}..{start + 49}")
        return list(range(start, start + 50))
    if "-" in spec:
        low, high = spec.split("-", 1)
        return list(range(int(low), int(high)))
    return list(range(int(spec)))


def now_ms() -> int:
    return int(time.time() * 1000)


def class_of(key: str) -> str:
    if key.startswith("bl:"):
        return "union"
    if key.startswith("sess:"):
        return "lww"
    return "counter"


# --- The model ------------------------------------------------------------------


@dataclasses.dataclass
class Entry:
    kind: str  # "string", "set", "hash"
    value: object  # bytes, set[bytes], dict[bytes, bytes]
    deadline: int | None = None  # absolute unix ms

    def copy(self) -> "Entry":
        return Entry(self.kind, copy.copy(self.value), self.deadline)


Store = dict  # key (str) -> Entry


def apply_redis(store: Store, args: list[str], at_ms: int) -> int:
    """Applies one command with Redis's semantics; returns the reply as an int
    (OK and true are 1, false is 0). No key expires during a seed (every
    deadline is at least a minute away)."""
    cmd, key = args[0], args[1]
    entry = store.get(key)
    if cmd == "SADD":
        if entry is None:
            entry = store[key] = Entry("set", set())
        added = {m.encode() for m in args[2:]} - entry.value
        entry.value |= added
        return len(added)
    if cmd == "SREM":
        if entry is None:
            return 0
        removed = {m.encode() for m in args[2:]} & entry.value
        entry.value -= removed
        if not entry.value:
            del store[key]
        return len(removed)
    if cmd == "DEL":
        return 1 if store.pop(key, None) is not None else 0
    if cmd == "SET":
        deadline = at_ms + int(args[4]) * 1000 if len(args) > 3 else None
        store[key] = Entry("string", args[2].encode(), deadline)
        return 1
    if cmd == "EXPIRE":
        if entry is None:
            return 0
        entry.deadline = at_ms + int(args[2]) * 1000
        return 1
    if cmd == "PERSIST":
        if entry is None or entry.deadline is None:
            return 0
        entry.deadline = None
        return 1
    if cmd == "HSET":
        if entry is None:
            entry = store[key] = Entry("hash", {})
        new = args[2].encode() not in entry.value
        entry.value[args[2].encode()] = args[3].encode()
        return int(new)
    if cmd == "HDEL":
        if entry is None:
            return 0
        removed = int(entry.value.pop(args[2].encode(), None) is not None)
        if not entry.value:
            del store[key]
        return removed
    if cmd in ("INCR", "INCRBY", "DECRBY"):
        delta = {"INCR": 1, "INCRBY": None, "DECRBY": None}[cmd]
        if delta is None:
            delta = int(args[2]) * (1 if cmd == "INCRBY" else -1)
        if entry is None:
            entry = store[key] = Entry("string", b"0")
        entry.value = str(int(entry.value) + delta).encode()
        return int(entry.value)
    if cmd == "HINCRBY":
        if entry is None:
            entry = store[key] = Entry("hash", {})
        field = args[2].encode()
        entry.value[field] = str(int(entry.value.get(field, b"0")) + int(args[3])).encode()
        return int(entry.value[field])
    raise AssertionError(f"model does not know {args}")


def counter_delta(args: list[str]) -> tuple[str | None, int]:
    """(hash field or None, signed delta) of a counter increment."""
    cmd = args[0]
    if cmd == "INCR":
        return None, 1
    if cmd == "INCRBY":
        return None, int(args[2])
    if cmd == "DECRBY":
        return None, -int(args[2])
    return args[2], int(args[3])  # HINCRBY


def extend(entry: Entry, deadline: int | None) -> None:
    """The union rule for an existing key's deadline: later wins, none beats any."""
    if deadline is None:
        entry.deadline = None
    elif entry.deadline is not None and deadline > entry.deadline:
        entry.deadline = deadline


@dataclasses.dataclass
class Journal:
    """What the model needs to replay one reconciliation."""

    union_records: list[tuple] = dataclasses.field(default_factory=list)
    lww_touched: set[str] = dataclasses.field(default_factory=set)
    counter_deltas: dict[tuple[str, str | None], int] = dataclasses.field(default_factory=dict)
    counter_lww: set[str] = dataclasses.field(default_factory=set)
    counter_deadlines: set[str] = dataclasses.field(default_factory=set)
    records: int = 0

    def record(self, args: list[str], at_ms: int) -> None:
        self.records += 1
        cmd, key = args[0], args[1]
        klass = class_of(key)
        if klass == "lww":
            self.lww_touched.add(key)
        elif klass == "counter":
            if cmd in INCR_COMMANDS:
                field, delta = counter_delta(args)
                slot = (key, field)
                self.counter_deltas[slot] = self.counter_deltas.get(slot, 0) + delta
            elif cmd == "EXPIRE" and int(args[2]) > 0:
                self.counter_deadlines.add(key)  # a window: the key stays a counter
            else:
                self.counter_lww.add(key)
        elif cmd == "SADD":
            self.union_records.append(("add", key, {m.encode() for m in args[2:]}))
        elif cmd == "SET":
            deadline = at_ms + int(args[4]) * 1000 if len(args) > 3 else None
            self.union_records.append(("set", key, args[2].encode(), deadline))
        elif cmd == "EXPIRE":
            self.union_records.append(("extend", key, at_ms + int(args[2]) * 1000))
        elif cmd == "PERSIST":
            self.union_records.append(("extend", key, None))
        # SREM, DEL: not replayed.

    def running_sum(self, key: str, field: str | None) -> int:
        return self.counter_deltas.get((key, field), 0)

    def replay(self, primary: Store, local: Store) -> None:
        """Applies the merge rules onto the model primary store."""
        for record in self.union_records:
            kind, key = record[0], record[1]
            entry = primary.get(key)
            if kind == "add":
                if entry is None:
                    # The local key's deadline; union sets never get one here.
                    primary[key] = Entry("set", set(record[2]))
                else:
                    entry.value |= record[2]
                    # An existing key's deadline moves to the local key's
                    # (none = persist); a key gone locally changes nothing.
                    if key in local:
                        extend(entry, local[key].deadline)
            elif kind == "set":
                if entry is None:
                    primary[key] = Entry("string", record[2], record[3])
                else:
                    extend(entry, record[3])
            elif kind == "extend" and entry is not None:
                extend(entry, record[2])
        for key in self.lww_touched | self.counter_lww:
            if key in local:
                primary[key] = local[key].copy()
            else:
                primary.pop(key, None)
        by_key: dict[str, dict[str | None, int]] = {}
        for (key, field), delta in self.counter_deltas.items():
            if key not in self.counter_lww:
                by_key.setdefault(key, {})[field] = delta
        for key, sums in by_key.items():
            sums = {field: delta for field, delta in sums.items() if delta != 0}
            if not sums:
                continue
            entry = primary.get(key)
            if entry is None:
                if key not in local:
                    continue  # gone locally: increments never create the key
                if None in sums:
                    entry = Entry("string", b"0", local[key].deadline)
                else:
                    entry = Entry("hash", {}, local[key].deadline)
                primary[key] = entry
            for field, delta in sums.items():
                if field is None:
                    entry.value = str(int(entry.value) + delta).encode()
                else:
                    f = field.encode()
                    entry.value[f] = str(int(entry.value.get(f, b"0")) + delta).encode()
        for key in self.counter_deadlines - self.counter_lww:
            entry = primary.get(key)
            if entry is not None and key in local and local[key].deadline is not None:
                entry.deadline = local[key].deadline


# --- The generator -----------------------------------------------------------------


def generate_op(rng: random.Random, safe_only: bool, journal: Journal | None,
                no_deadlines: bool = False) -> list[str]:
    """One write. `safe_only`: only writes whose effect on the primary is the
    same whether they are proxied or journaled and replayed. `journal`: the
    open outage's journal, when the write may be journaled; DECRBY is only
    drawn when it keeps the outage's running sum of the key positive, so no
    replay batch can start a key at a zero sum (a zero sum sends nothing).
    `no_deadlines`: no write that sets a deadline (for pipelines, where the
    instant each write runs is not known closely enough)."""
    while True:
        args = draw_op(rng, safe_only, journal)
        if not (no_deadlines and (args[0] == "EXPIRE" or "EX" in args)):
            return args


def draw_op(rng: random.Random, safe_only: bool, journal: Journal | None) -> list[str]:
    """A candidate for generate_op."""
    while True:
        family = rng.choices(
            ["uset", "ustr", "lstr", "lhash", "ctr", "chash"], [3, 2, 3, 2, 4, 2])[0]
        roll = rng.random()
        ttl = str(rng.randrange(60, 900))
        if family == "uset":
            key = rng.choice(UNION_SETS)
            members = rng.sample([f"m{i}" for i in range(8)], rng.randint(1, 3))
            if safe_only or roll < 0.65:
                return ["SADD", key, *members]
            if roll < 0.9:
                return ["SREM", key, members[0]]
            return ["DEL", key]
        if family == "ustr":
            if safe_only:
                continue
            key = rng.choice(UNION_STRINGS)
            if roll < 0.6:
                return ["SET", key, f"v{rng.randrange(100)}", "EX", ttl]
            if roll < 0.8:
                return ["EXPIRE", key, ttl]
            if roll < 0.9:
                return ["PERSIST", key]
            return ["DEL", key]
        if family == "lstr":
            key = rng.choice(LWW_STRINGS)
            value = f"s{rng.randrange(1000)}"
            if roll < 0.35:
                return ["SET", key, value]
            if roll < 0.65:
                return ["SET", key, value, "EX", ttl]
            if roll < 0.8:
                return ["DEL", key]
            if roll < 0.9:
                return ["EXPIRE", key, ttl]
            return ["PERSIST", key]
        if family == "lhash":
            key = rng.choice(LWW_HASHES)
            field = f"f{rng.randrange(4)}"
            if roll < 0.55:
                return ["HSET", key, field, f"h{rng.randrange(1000)}"]
            if roll < 0.8:
                return ["HDEL", key, field]
            if roll < 0.9:
                return ["EXPIRE", key, ttl]
            return ["DEL", key]
        if family == "ctr":
            key = rng.choice(COUNTERS)
            if roll < 0.35:
                return ["INCR", key]
            if roll < 0.7:
                return ["INCRBY", key, str(rng.randint(1, 50))]
            if roll < 0.88:
                amount = rng.randint(1, 20)
                if journal is not None and journal.running_sum(key, None) <= amount:
                    continue
                return ["DECRBY", key, str(amount)]
            if roll < 0.95:
                return ["EXPIRE", key, ttl]
            return ["DEL", key]
        key = rng.choice(COUNTER_HASHES)
        if roll < 0.9:
            return ["HINCRBY", key, f"f{rng.randrange(3)}", str(rng.randint(1, 9))]
        if roll < 0.96:
            return ["EXPIRE", key, ttl]
        return ["DEL", key]


# --- Reading a server's contents -------------------------------------------------------


def dump(conn: redis.Redis, keys: list[str] | None = None) -> Store:
    """The keys (all but understudy's checkpoints, or `keys`) of a server."""
    if keys is None:
        names = [k for k in conn.scan_iter(count=1000) if not k.startswith(CHECKPOINT_PREFIX)]
    else:
        names = [k.encode() for k in keys]
    pipe = conn.pipeline(transaction=False)
    for name in names:
        pipe.type(name)
        pipe.execute_command("PEXPIRETIME", name)
    meta = pipe.execute()
    pipe = conn.pipeline(transaction=False)
    present = []
    for i, name in enumerate(names):
        kind = meta[2 * i].decode()
        if kind == "none":
            continue
        present.append((name, kind, meta[2 * i + 1]))
        {"string": pipe.get, "set": pipe.smembers, "hash": pipe.hgetall}[kind](name)
    values = pipe.execute()
    store: Store = {}
    for (name, kind, deadline), value in zip(present, values):
        store[name.decode()] = Entry(kind, value, None if deadline < 0 else deadline)
    return store


def differences(expected: Store, actual: Store, what: str) -> list[str]:
    out = []
    for key in sorted(set(expected) | set(actual)):
        want, got = expected.get(key), actual.get(key)
        if want is None or got is None:
            out.append(f"{key}: {what} {'lacks it' if got is None else 'has it'}; "
                       f"model {want}, {what} {got}")
            continue
        if want.kind != got.kind or want.value != got.value:
            out.append(f"{key}: model {want.kind} {want.value!r}, {what} {got.kind} {got.value!r}")
            continue
        if (want.deadline is None) != (got.deadline is None) or (
                want.deadline is not None
                and abs(want.deadline - got.deadline) > DEADLINE_TOLERANCE_MS):
            out.append(f"{key}: model deadline {want.deadline}, {what} {got.deadline}")
    return out


# --- The run --------------------------------------------------------------------------


class ModelRun:
    """One seed: the processes, the clients, the model and a log of phases."""

    def __init__(self, seed: int, primary: Primary, daemon: ProxiedUnderstudy, fsync: str):
        self.seed = seed
        self.fsync = fsync
        self.rng = random.Random(seed)
        self.primary = primary
        self.daemon = daemon
        self.clients: list[redis.Redis] = []
        self.model_primary: Store = {}
        self.model_local: Store = {}
        self.journal = Journal()
        self.union_local_known = True
        self.snapshots_seen = 0
        self.steps: list[str] = []
        self.ops = 0
        self.mid_replay_kills = 0
        self.connect()
        self.note(f"journal-fsync {fsync}")

    # Processes and clients.

    def connect(self) -> None:
        for c in self.clients:
            c.close()
        self.clients = [redis.Redis(host=HOST, port=self.daemon.port, socket_timeout=5)
                        for _ in range(CLIENTS)]

    def note(self, text: str) -> None:
        self.steps.append(f"[op {self.ops}] {text}")

    def fail(self, message: str) -> None:
        pytest.fail(f"seed {self.seed}: {message}\nsteps:\n  " + "\n  ".join(self.steps[-40:])
                    + f"\n{self.daemon.log_tail(4000)}", pytrace=False)

    def info(self) -> dict[str, str]:
        return info_understudy(self.daemon)

    def snapshot_lines(self) -> int:
        text = self.daemon.log_path.read_text(errors="replace")
        return sum(1 for line in text.splitlines() if SNAPSHOT_LINE in line and "written" in line)

    def wait_reconciled(self, timeout_s: float = 20.0) -> dict[str, str]:
        deadline = time.monotonic() + timeout_s
        while True:
            info = wait_state(self.daemon, "healthy", max(0.5, deadline - time.monotonic()))
            if info.get("journal_records_pending") == "0":
                return info
            if time.monotonic() >= deadline:
                self.fail(f"healthy but journal not empty: {info}")
            time.sleep(0.01)

    def wait_mirror_live(self) -> None:
        wait_until(lambda: self.info()["mirror_state"] == "live", 10.0, what="mirror live")

    def wait_mirror_settled(self) -> None:
        """Mirror live, and its invalidation and re-fetch counts unchanged over
        40 ms: the re-fetches that follow the last writes are done, so the
        local store holds what the primary holds (bounded: 5 s)."""
        self.wait_mirror_live()

        def counts() -> list[str]:
            return sorted(v for k, v in self.info().items() if k.startswith("class_"))

        deadline = time.monotonic() + 5.0
        last = counts()
        while time.monotonic() < deadline:
            time.sleep(0.04)
            now = counts()
            if now == last:
                return
            last = now
        self.fail("the mirror did not settle within 5 s")

    def kill_daemon_and_restart(self) -> None:
        os.kill(self.daemon.process.pid, signal.SIGKILL)
        self.daemon.process.wait(timeout=10)
        self.daemon.stop()
        self.daemon.start()  # same working directory: same journal and snapshot
        self.connect()

    # Writes.

    def model_write(self, args: list[str], phase: str, at: int) -> int | None:
        """Applies a write to the model; returns the reply to expect (None: unchecked)."""
        if phase == "healthy":
            return apply_redis(self.model_primary, args, at)
        expected = apply_redis(self.model_local, args, at)
        self.journal.record(args, at)
        if class_of(args[1]) == "union" and (phase == "window" or not self.union_local_known):
            return None  # the local union state is not modeled exactly here
        return expected

    def check_reply(self, phase: str, args: list[str], reply: object,
                    expected: int | None) -> None:
        if isinstance(reply, Exception):
            self.fail(f"{phase}: {args} failed: {reply!r}")
        reply = int(reply) if isinstance(reply, (bool, int)) else reply
        if expected is not None and reply != expected:
            self.fail(f"{phase}: {args} replied {reply!r}, model {expected!r}")

    def write(self, phase: str, journal_open: bool, safe_only: bool = False) -> None:
        """One generated write through a random client; applies it to the model."""
        args = generate_op(self.rng, safe_only, self.journal if journal_open else None)
        client = self.rng.choice(self.clients)
        at = now_ms()
        try:
            reply = client.execute_command(*args)
        except redis.RedisError as exc:
            reply = exc
        self.ops += 1
        self.check_reply(phase, args, reply, self.model_write(args, phase, at))

    def writes(self, count: int, phase: str, journal_open: bool, safe_only: bool = False) -> None:
        for _ in range(count):
            self.write(phase, journal_open, safe_only)

    def pipelined_writes(self, count: int, phase: str) -> None:
        """`count` generated writes in one pipeline from one client (outage
        only: every write is local, so the model applies them in order).
        Makes the replay long enough to be cut by a kill."""
        sent = []
        pipe = self.rng.choice(self.clients).pipeline(transaction=False)
        at = now_ms()
        for _ in range(count):
            args = generate_op(self.rng, False, self.journal, no_deadlines=True)
            sent.append((args, self.model_write(args, phase, at)))
            pipe.execute_command(*args)
        replies = pipe.execute(raise_on_error=False)
        self.ops += count
        for (args, expected), reply in zip(sent, replies):
            self.check_reply(f"{phase} (pipelined)", args, reply, expected)

    def wait_replay_running(self, limit_s: float = 3.0) -> dict[str, str]:
        """Waits (bounded) for the replay to be under way; returns the last INFO."""
        deadline = time.monotonic() + limit_s
        while True:
            info = self.info()
            if info.get("primary_state") == "healthy" or time.monotonic() >= deadline or (
                    info.get("reconcile_running") == "1"
                    and int(info.get("reconcile_replayed", "0")) > 0):
                return info
            time.sleep(0.0005)

    # Phases.

    def healthy_phase(self) -> None:
        count = self.rng.randint(10, 30)
        self.note(f"healthy phase: {count} writes")
        self.writes(count, "healthy", journal_open=False)

    def start_outage(self) -> None:
        """Kills the primary between two requests, from a settled healthy state."""
        self.wait_mirror_settled()
        self.snapshots_seen = self.snapshot_lines()
        self.note("SIGKILL primary (from healthy)")
        self.primary.kill()
        self.model_local = {k: e.copy() for k, e in self.model_primary.items()}
        self.union_local_known = True
        # The local store as the outage found it: the mirror plus write-through.
        local = dump(self.clients[0], ALL_KEYS)
        problems = differences(self.model_primary, local, "local store")
        if problems:
            self.fail("at the outage start the local store differs from the primary:\n  "
                      + "\n  ".join(problems))

    def daemon_crash_in_outage(self) -> None:
        wait_until(lambda: self.snapshot_lines() > self.snapshots_seen, 10.0,
                   what="outage snapshot written")
        self.note("SIGKILL understudy during the outage, restart")
        self.kill_daemon_and_restart()
        local = dump(self.clients[0], ALL_KEYS)
        expected = self.model_local
        if not self.union_local_known:
            local = {k: e for k, e in local.items() if class_of(k) != "union"}
            expected = {k: e for k, e in expected.items() if class_of(k) != "union"}
        problems = differences(expected, local, "restarted local store")
        if problems:
            self.fail("after a SIGKILL during the outage the local store differs from the model:"
                      "\n  " + "\n  ".join(problems))

    def recovery_window(self, may_kill_primary: bool, may_kill_daemon: bool) -> None:
        count = self.rng.randint(3, 15)
        kill_primary_at = self.rng.randrange(count) if may_kill_primary else -1
        kill_daemon_at = self.rng.randrange(count) if may_kill_daemon else -1
        self.note(f"restart primary; window of {count} writes "
                  f"(primary kill at {kill_primary_at}, daemon kill at {kill_daemon_at})")
        self.primary.restart()
        for i in range(count):
            time.sleep(self.rng.uniform(0, 0.03))
            if i == kill_daemon_at:
                info = self.wait_replay_running()
                if info.get("reconcile_running") == "1":
                    self.mid_replay_kills += 1
                self.note(f"SIGKILL understudy in the window (state {info['primary_state']}, "
                          f"running {info.get('reconcile_running')}, replayed "
                          f"{info.get('reconcile_replayed')}), restart, wait healthy")
                self.kill_daemon_and_restart()
                # A daemon that restarts with nothing pending starts from an
                # empty local store: writes it served before its first probe
                # would not be writes of this model. Wait for healthy.
                self.wait_reconciled()
                # And for its mirror: a primary killed before it is loaded
                # would leave lww and counter keys missing locally.
                self.wait_mirror_live()
                self.union_local_known = False
            if i == kill_primary_at:
                info = self.wait_replay_running()
                if info.get("reconcile_running") == "1":
                    self.mid_replay_kills += 1
                self.note(f"SIGKILL primary in the window (state {info['primary_state']}, "
                          f"running {info.get('reconcile_running')}, replayed "
                          f"{info.get('reconcile_replayed')})")
                self.primary.kill()
                # It may have been healthy (and reloading its mirror) just before.
                self.union_local_known = False
                outage = self.rng.randint(3, 12)
                self.note(f"outage: {outage} writes")
                self.writes(outage, "outage", journal_open=True)
                self.note("restart primary")
                self.primary.restart()
            self.write("window", journal_open=True, safe_only=True)

    def end_cycle(self) -> None:
        info = self.wait_reconciled()
        self.note(f"reconciled: replayed {info.get('reconcile_replayed')}, conflicts "
                  f"{info.get('reconcile_conflicts')}; model replays {self.journal.records} "
                  "records")
        self.journal.replay(self.model_primary, self.model_local)
        self.journal = Journal()

    def run(self) -> None:
        rng = self.rng
        daemon_crashes = rng.random() < 0.35
        cycles = rng.randint(2, 4)
        self.note(f"{cycles} cycles, daemon crashes: {daemon_crashes}")
        for _ in range(cycles):
            self.healthy_phase()
            self.start_outage()
            total = rng.randint(10, 30)
            # Also before the outage's first write: the journal's outage marker
            # makes the restart restore the store (test_restart_mid_outage_
            # before_any_write_keeps_the_local_store).
            crash_at = rng.randrange(total) if daemon_crashes and rng.random() < 0.6 else -1
            self.note(f"outage: {total} writes (daemon crash at {crash_at})")
            bulk_at = rng.randrange(total) if rng.random() < 0.4 else -1
            # Under journal-fsync always each local write costs an fdatasync.
            bulk = rng.randint(500, 1500) // (3 if self.fsync == "always" else 1)
            for i in range(total):
                if i == crash_at:
                    self.daemon_crash_in_outage()
                if i == bulk_at:
                    self.note(f"outage: {bulk} pipelined writes")
                    self.pipelined_writes(bulk, "outage")
                self.write("outage", journal_open=True)
            self.recovery_window(may_kill_primary=rng.random() < 0.35,
                                 may_kill_daemon=daemon_crashes and rng.random() < 0.4)
            self.end_cycle()
        self.healthy_phase()
        with self.primary.admin() as direct:
            actual = dump(direct)
        problems = differences(self.model_primary, actual, "primary")
        if os.environ.get("OUTAGE_MODEL_VERBOSE"):
            print(f"\nseed {self.seed}: {len(actual)} keys, {self.ops} writes, "
                  f"{self.mid_replay_kills} kills mid-replay\n  " + "\n  ".join(self.steps))
        if problems:
            self.fail(f"{len(problems)} keys differ between the primary and the model:\n  "
                      + "\n  ".join(problems))


@pytest.mark.parametrize("seed", seeds_to_run(), ids=lambda s: f"seed_{s}")
def test_outage_model(seed):
    rng = random.Random(seed ^ 0x5EED)
    fsync = rng.choice(["always", "everysec", "no"])
    primary = Primary(["--appendonly", "yes", "--appendfsync", "always"])
    primary.start()
    daemon = None
    run = None
    try:
        daemon = ProxiedUnderstudy(primary.port, [*CLASSES, "--journal-fsync", fsync])
        daemon.start_healthy()
        run = ModelRun(seed, primary, daemon, fsync)
        run.run()
    finally:
        if run is not None:
            for c in run.clients:
                c.close()
        if daemon is not None:
            daemon.cleanup()
        primary.cleanup()


def test_restart_mid_outage_before_any_write_keeps_the_local_store():
    primary = Primary(["--appendonly", "yes", "--appendfsync", "always"])
    primary.start()
    daemon = None
    try:
        with primary.admin() as direct:
            direct.hset("sess:h:0", mapping={"a": "1"})
            direct.set("rl:c:0", 10)
        daemon = ProxiedUnderstudy(primary.port, CLASSES)
        daemon.start_healthy()
        wait_until(lambda: info_understudy(daemon)["mirror_state"] == "live", 10.0,
                   what="mirror live")
        primary.kill()
        wait_until(lambda: f"{SNAPSHOT_LINE} 2 keys written"
                   in daemon.log_path.read_text(errors="replace"), 10.0, what="outage snapshot")
        # SIGKILL before any write of the outage: nothing is pending in the journal.
        os.kill(daemon.process.pid, signal.SIGKILL)
        daemon.process.wait(timeout=10)
        daemon.stop()
        daemon.start()
        r = redis.Redis(host=HOST, port=daemon.port, socket_timeout=5)
        local_hash = r.hgetall("sess:h:0")
        local_counter = r.get("rl:c:0")
        r.hset("sess:h:0", "b", "2")  # lww: its final local state will replace the primary's
        primary.restart()
        wait_state(daemon, "healthy", 15.0)
        with primary.admin() as direct:
            final_hash = direct.hgetall("sess:h:0")
        r.close()
        assert (local_hash, local_counter) == ({b"a": b"1"}, b"10"), \
            "the restarted daemon does not serve the outage's local store"
        assert final_hash == {b"a": b"1", b"b": b"2"}, "field 'a' lost on the primary"
    finally:
        if daemon is not None:
            daemon.cleanup()
        primary.cleanup()
