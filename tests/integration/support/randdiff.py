"""Runs generated command streams (support/randgen.py) against a reference
redis-server and a target server and compares every reply.

Each command goes to the reference first, then to the target, on connection
1 (or 2) of each side, and the two replies are compared in the command's
mode (see randgen.py). The first mismatch ends a run, since the servers'
states may differ after it. `minimal_replay` then picks the commands that
touch the keys involved, and `DiffRunner.run` on fresh databases tells
whether that shorter list still shows the mismatch.
"""

from __future__ import annotations

import dataclasses
import time

from support.randgen import Cmd, Step, describe_step
from support.resp import (ConnectionClosed, Node, ReplyTimeout, RespClient, RespProtocolError,
                          encode_command, parse_reply)
from support.servers import ManagedServer

REPLY_TIMEOUT_S = 5.0
MAX_SCAN_CALLS = 1000
_TTL_TOLERANCE = {b"TTL": 2, b"EXPIRETIME": 2, b"PTTL": 2000, b"PEXPIRETIME": 2000}
_LISTPACK = b"$8\r\nlistpack\r\n"

# Set for every run: a blocked client's timeout is noticed on the server's
# cron tick, so at the default hz 10 each BLPOP ... 0.01 on an empty list
# would take 100 ms; at hz 500 it takes about 12 ms.
RUN_CONFIG = {b"hz": b"500"}

# Encoding limits that make every collection change representation within
# a few elements; used for half of the seeds so that conversions and
# multi-node lists are exercised, not just the small encodings.
SMALL_ENCODINGS = {
    b"hash-max-listpack-entries": b"4",
    b"hash-max-listpack-value": b"8",
    b"set-max-intset-entries": b"4",
    b"zset-max-listpack-entries": b"4",
    b"zset-max-listpack-value": b"8",
    b"list-max-listpack-size": b"4",
    b"list-compress-depth": b"1",
}


class SideError(Exception):
    """A server did not answer properly (timeout, closed, garbage)."""


@dataclasses.dataclass
class Mismatch:
    step: Step
    cmd: Cmd
    why: str
    ref: bytes | str = b""
    target: bytes | str = b""

    def describe(self) -> str:
        lines = [f"step #{self.step.index} ({self.step.family}): "
                 f"{'[conn 2] ' if self.cmd.conn == 2 else ''}{self.cmd.text()}"
                 f"   [mode {self.cmd.mode}]",
                 f"  why:        {self.why}",
                 f"  reference:  {self.ref!r}",
                 f"  target:     {self.target!r}"]
        if len(self.step.commands) > 1:
            lines.append("  whole step:")
            lines += ["    " + line for line in describe_step(self.step)]
        return "\n".join(lines)


class Side:
    """One server's connections for a run."""

    def __init__(self, server: ManagedServer, resp3: bool):
        self.server = server
        self.resp3 = resp3
        self.connections: dict[int, RespClient] = {}

    def conn(self, number: int) -> RespClient:
        client = self.connections.get(number)
        if client is None:
            client = self.server.client(timeout=REPLY_TIMEOUT_S)
            self.connections[number] = client
            if self.resp3:
                hello = client.command("HELLO", "3")
                if not hello.startswith(b"%"):
                    raise SideError(f"{self.server.label}: HELLO 3 replied {hello!r}")
        return client

    def send(self, number: int, args: list[bytes]) -> None:
        try:
            self.conn(number).send_command(args)
        except ConnectionClosed as exc:
            raise SideError(f"{self.server.label}: connection {number} closed: {exc}") from None

    def read(self, number: int) -> bytes:
        try:
            return self.conn(number).read_reply()
        except ReplyTimeout as exc:
            raise SideError(f"{self.server.label}: no reply within {REPLY_TIMEOUT_S} s "
                            f"(partial {exc.partial!r})") from None
        except ConnectionClosed as exc:
            raise SideError(f"{self.server.label}: connection {number} closed: {exc}") from None
        except RespProtocolError as exc:
            raise SideError(f"{self.server.label}: not RESP: {exc}") from None

    def call(self, number: int, args: list[bytes]) -> bytes:
        self.send(number, args)
        return self.read(number)

    def scan_all(self, number: int, args: list[bytes], pairs: bool) -> bytes:
        """Iterates a SCAN-family command to cursor 0.

        Returns the first error as is, otherwise a made-up array reply of the
        sorted, de-duplicated elements (field/value pairs kept together).
        """
        args = list(args)
        cursor_at = 1 if args[0].upper() == b"SCAN" else 2
        seen: set = set()
        for _ in range(MAX_SCAN_CALLS):
            raw = self.call(number, args)
            node = parse_reply(raw)
            if node.kind in "-!":
                return raw
            if node.kind != "*" or len(node.children or []) != 2:
                return b"-(not a [cursor, elements] reply) " + raw
            cursor, batch = node.children
            values = [child.value for child in batch.children or []]
            seen.update(zip(values[0::2], values[1::2]) if pairs else values)
            if cursor.value == b"0":
                flat = [part for item in sorted(seen)
                        for part in (item if pairs else (item,))]
                return encode_command(flat)
            args[cursor_at] = cursor.value
        return b"-(cursor never returned to 0)"

    def close(self) -> None:
        for client in self.connections.values():
            client.close()
        self.connections.clear()


# -- reply comparison ---------------------------------------------------

def _is_error(node: Node) -> bool:
    return node.kind in "-!"


def _shape(node: Node):
    if node.children is None:
        return node.kind if node.value is not None else (node.kind, None)
    return (node.kind, tuple(_shape(child) for child in node.children))


def _sorted_form(node: Node):
    """Scalar arrays and sets sorted, map pairs sorted; recursively."""
    if node.children is None:
        return (node.kind, node.value)
    forms = [_sorted_form(child) for child in node.children]
    if node.kind == "%":
        return (node.kind, tuple(sorted(zip(forms[0::2], forms[1::2]))))
    if node.kind in "*~" and all(child.children is None for child in node.children):
        forms.sort()
    return (node.kind, tuple(forms))


def _pairs_form(node: Node):
    """A flat [k, v, k, v] array or a map, as sorted (k, v) pairs."""
    children = node.children
    if children is None or node.kind not in "*%" or len(children) % 2:
        return _sorted_form(node)
    forms = [_sorted_form(child) for child in children]
    return (node.kind, tuple(sorted(zip(forms[0::2], forms[1::2]))))


def _leaves(node: Node) -> list[bytes]:
    """Scalar values in order, nulls left out."""
    if node.children is None:
        return [] if node.value is None or node.kind == "_" else [node.value]
    return [value for child in node.children for value in _leaves(child)]


def _items(node: Node, pairs: bool) -> list:
    values = _leaves(node)
    return list(zip(values[0::2], values[1::2])) if pairs else values


def _nodes_differ(cmd: Cmd, mode: str, ref: Node, target: Node) -> str | None:
    """Compares two parsed replies in `mode`; returns why they differ."""
    if _is_error(ref) or _is_error(target) or mode == "exact":
        return None if ref == target else "replies differ"
    if mode == "sorted":
        same = _sorted_form(ref) == _sorted_form(target)
        return None if same else "replies differ (compared ignoring order)"
    if mode == "pairs":
        same = _pairs_form(ref) == _pairs_form(target)
        return None if same else "replies differ (compared as unordered pairs)"
    if mode == "shape":
        return None if _shape(ref) == _shape(target) else "reply types or sizes differ"
    if mode == "ttl":
        if ref.kind == target.kind == ":":
            a, b = int(ref.value), int(target.value)
            tolerance = _TTL_TOLERANCE.get(cmd.args[0].upper(), 0)
            if (a < 0 or b < 0) and a != b:
                return "expiry readings differ"
            if abs(a - b) > tolerance:
                return f"expiry readings differ by more than {tolerance}"
            return None
        return None if ref == target else "replies differ"
    if mode == "exec":
        inner = cmd.inner or []
        if (ref.kind != "*" or target.kind != "*" or ref.children is None
                or target.children is None or len(ref.children) != len(inner)):
            return None if ref == target else "EXEC replies differ"
        if len(target.children) != len(inner):
            return f"EXEC returned {len(target.children)} replies, expected {len(inner)}"
        for position, (queued, r, t) in enumerate(zip(inner, ref.children, target.children)):
            why = _nodes_differ(queued, queued.mode, r, t)
            if why:
                return f"EXEC reply {position} ({queued.text()}): {why}"
        return None
    raise AssertionError(f"unexpected mode {mode}")


def _check_sample(cmd: Cmd, reply: Node, universe: list, label: str) -> str | None:
    """Every sampled element must come from the collection; distinct if asked."""
    items = _items(reply, cmd.pairs)
    pool = set(universe)
    strangers = [item for item in items if item not in pool]
    if strangers:
        return f"{label} returned elements not in the collection: {strangers[:5]!r}"
    if cmd.distinct:
        names = [item[0] if cmd.pairs else item for item in items]
        if len(set(names)) != len(names):
            return f"{label} returned duplicates for a positive count: {names!r}"
    return None


class DiffRunner:
    """Runs steps on both servers, stopping at the first mismatch."""

    def __init__(self, ref: ManagedServer, target: ManagedServer, resp3: bool):
        self.ref = Side(ref, resp3)
        self.target = Side(target, resp3)
        self.commands_run = 0

    def close(self) -> None:
        self.ref.close()
        self.target.close()

    def run(self, steps: list[Step]) -> Mismatch | None:
        for step in steps:
            for cmd in step.commands:
                try:
                    problem = self._run_cmd(cmd)
                except SideError as exc:
                    problem = Mismatch(step, cmd, str(exc))
                if problem is not None:
                    problem.step = step
                    return problem
        return None

    def _run_cmd(self, cmd: Cmd) -> Mismatch | None:
        ref, target = self.ref, self.target
        if cmd.action == "sleep":
            time.sleep(float(cmd.args[0]))
            return None
        self.commands_run += 1
        if cmd.action == "send":
            ref.send(cmd.conn, cmd.args)
            target.send(cmd.conn, cmd.args)
            return None
        if cmd.action == "read":
            return self._compare(cmd, cmd.mode, ref.read(cmd.conn), target.read(cmd.conn))
        if cmd.mode == "scan":
            return self._compare(cmd, "exact", ref.scan_all(cmd.conn, cmd.args, cmd.pairs),
                                 target.scan_all(cmd.conn, cmd.args, cmd.pairs))
        if cmd.mode == "sample":
            return self._sample(cmd)
        if cmd.mode == "spop":
            return self._spop(cmd)
        mode = cmd.mode
        if mode == "hashorder":
            # A listpack hash keeps insertion order, which the target must
            # reproduce; a hashtable's order is unspecified.
            encoding = ref.call(cmd.conn, [b"OBJECT", b"ENCODING", cmd.args[1]])
            mode = "exact" if encoding == _LISTPACK else ("pairs" if cmd.pairs else "sorted")
        # Both servers work on the command at the same time; they share
        # nothing, and this halves the wall time (blocking pops included).
        ref.send(cmd.conn, cmd.args)
        target.send(cmd.conn, cmd.args)
        return self._compare(cmd, mode, ref.read(cmd.conn), target.read(cmd.conn))

    def _compare(self, cmd: Cmd, mode: str, ref_raw: bytes, target_raw: bytes) -> Mismatch | None:
        if ref_raw == target_raw:
            return None
        why = _nodes_differ(cmd, mode, parse_reply(ref_raw), parse_reply(target_raw))
        return None if why is None else Mismatch(None, cmd, why, ref_raw, target_raw)

    def _sample(self, cmd: Cmd) -> Mismatch | None:
        """Random reads: same shape, elements from the collection."""
        ref_raw = self.ref.call(cmd.conn, cmd.args)
        ref_probe = self.ref.call(cmd.conn, cmd.probe)
        target_raw = self.target.call(cmd.conn, cmd.args)
        target_probe = self.target.call(cmd.conn, cmd.probe)
        ref_node, target_node = parse_reply(ref_raw), parse_reply(target_raw)
        if _is_error(ref_node) or _is_error(target_node):
            return self._compare(cmd, "exact", ref_raw, target_raw)
        if _shape(ref_node) != _shape(target_node):
            return Mismatch(None, cmd, "reply types or sizes differ", ref_raw, target_raw)
        ref_universe = _items(parse_reply(ref_probe), cmd.pairs)
        target_universe = _items(parse_reply(target_probe), cmd.pairs)
        if sorted(ref_universe) != sorted(target_universe):
            return Mismatch(None, cmd, f"collections differ ({b' '.join(cmd.probe)!r})",
                            ref_probe, target_probe)
        why = (_check_sample(cmd, ref_node, ref_universe, "reference")
               or _check_sample(cmd, target_node, target_universe, "target"))
        return None if why is None else Mismatch(None, cmd, why, ref_raw, target_raw)

    def _spop(self, cmd: Cmd) -> Mismatch | None:
        """SPOP of part of a set: checks it popped members, then makes the
        reference's set equal to the target's (SADD back what the reference
        popped, SREM what the target popped)."""
        key = cmd.args[1]
        ref_before = self.ref.call(cmd.conn, cmd.probe)
        target_before = self.target.call(cmd.conn, cmd.probe)
        ref_raw = self.ref.call(cmd.conn, cmd.args)
        target_raw = self.target.call(cmd.conn, cmd.args)
        ref_node, target_node = parse_reply(ref_raw), parse_reply(target_raw)
        if _is_error(ref_node) or _is_error(target_node):
            return self._compare(cmd, "exact", ref_raw, target_raw)
        ref_members = _items(parse_reply(ref_before), False)
        if sorted(ref_members) != sorted(_items(parse_reply(target_before), False)):
            return Mismatch(None, cmd, "sets differ before SPOP", ref_before, target_before)
        if _shape(ref_node) != _shape(target_node):
            return Mismatch(None, cmd, "reply types or sizes differ", ref_raw, target_raw)
        checked = dataclasses.replace(cmd, distinct=True)
        why = (_check_sample(checked, ref_node, ref_members, "reference")
               or _check_sample(checked, target_node, ref_members, "target"))
        if why:
            return Mismatch(None, cmd, why, ref_raw, target_raw)
        ref_popped, target_popped = _leaves(ref_node), _leaves(target_node)
        if set(ref_popped) != set(target_popped):
            for args in ([b"SADD", key, *ref_popped], [b"SREM", key, *target_popped]):
                reply = self.ref.call(cmd.conn, args)
                if not reply.startswith(b":"):
                    raise SideError(f"reference: reconciling after SPOP: {args!r} -> {reply!r}")
        return None


def minimal_replay(steps: list[Step], failing: Step) -> list[Step]:
    """The steps up to `failing` that can have shaped the keys it touches.

    Walks back from the failing step and keeps every step that touches a
    key of interest, adding that step's other keys (a SUNIONSTORE's
    sources matter for its destination). Stops at a FLUSHDB. Steps that only
    read all keys (KEYS, SCAN...) are dropped unless they failed; if the
    failing step reads all keys, everything since the last flush is kept.
    """
    position = next(i for i, step in enumerate(steps) if step is failing)
    chosen = [failing]
    involved = set(failing.keys)
    keep_all = failing.reads_all
    for step in reversed(steps[:position]):
        if step.flushes:
            break
        if keep_all or (step.keys & involved):
            chosen.append(step)
            involved |= step.keys
    chosen.reverse()
    return chosen


def shrink(replay: list[Step], reproduces, budget_s: float, max_tries: int = 400) -> list[Step]:
    """Removes steps from `replay` (all but the last, failing one) while
    `reproduces(steps)` stays true: chunks of half the length first, then
    smaller ones. Stops when no single step can go, or at the budget."""
    steps, failing = list(replay[:-1]), replay[-1]
    deadline = time.monotonic() + budget_s
    tries = 0
    chunk = max(1, len(steps) // 2)
    while steps and tries < max_tries and time.monotonic() < deadline:
        removed = False
        start = 0
        while start < len(steps) and tries < max_tries and time.monotonic() < deadline:
            candidate = steps[:start] + steps[start + chunk:]
            tries += 1
            if reproduces(candidate + [failing]):
                steps = candidate
                removed = True
            else:
                start += chunk
        if chunk == 1 and not removed:
            break
        if not removed or chunk > len(steps):
            chunk = max(1, chunk // 2)
    return steps + [failing]


def flush(server: ManagedServer) -> None:
    with server.client(timeout=REPLY_TIMEOUT_S) as client:
        reply = client.command("FLUSHALL")
    if reply != b"+OK\r\n":
        raise RuntimeError(f"{server.label}: FLUSHALL replied {reply!r}")


def read_config(server: ManagedServer, names) -> dict[bytes, bytes]:
    values = {}
    with server.client(timeout=REPLY_TIMEOUT_S) as client:
        for name in names:
            node = parse_reply(client.command("CONFIG", "GET", name))
            children = node.children or []
            if len(children) != 2:
                raise RuntimeError(f"{server.label}: CONFIG GET {name!r} -> {node!r}")
            values[name] = children[1].value
    return values


def write_config(server: ManagedServer, values: dict[bytes, bytes]) -> None:
    """CONFIG SET each parameter; raises if the server refuses one."""
    with server.client(timeout=REPLY_TIMEOUT_S) as client:
        for name, value in values.items():
            reply = client.command("CONFIG", "SET", name, value)
            if reply != b"+OK\r\n":
                raise RuntimeError(f"{server.label}: CONFIG SET {name.decode()} "
                                   f"{value.decode()} -> {reply!r}")


def replay_listing(steps: list[Step]) -> list[str]:
    return [line for step in steps for line in describe_step(step)]
