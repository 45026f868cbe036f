"""Runs one parsed case against a reference server and a target server.

Each step is performed on the reference first, then on the target, and the
two outcomes are compared according to the step's compare mode. The result
is a transcript that names every mismatch and shows both byte strings.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import time

from support.cases import SCAN_COMMANDS, Case, Step
from support.resp import (ConnectionClosed, Node, ReplyTimeout, RespClient,
                          RespProtocolError, encode_command, parse_reply)
from support.servers import ManagedServer

REPLY_TIMEOUT_S = float(os.environ.get("DIFF_REPLY_TIMEOUT", "1.0"))
DEFAULT_NOREPLY_MS = 100
CLOSE_WAIT_S = 0.5
MAX_SCAN_CALLS = 2000


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What one side did for one step.

    kind: "reply" (data = raw reply), "timeout" (data = partial bytes),
    "closed" (connection closed by the peer), "nothing" (no bytes, as
    expected by !noreply), "open" (connection still open after !closed; data
    = bytes that arrived), "data" (unexpected bytes for !noreply), "none"
    (step produces no outcome, e.g. !send or !sleep), "skipped".
    """

    kind: str
    data: bytes = b""

    def describe(self) -> str:
        if self.kind == "reply":
            return repr(self.data)
        if self.data:
            return f"<{self.kind}> {self.data!r}"
        return f"<{self.kind}>"


NO_OUTCOME = Outcome("none")


class Side:
    """One server's connections within a case."""

    def __init__(self, server: ManagedServer, variant: str):
        self.server = server
        self.variant = variant
        self.connections: dict[int, RespClient] = {}
        self.current = 1
        self.broken = False  # set after a timeout: later replies would be misaligned

    def conn(self) -> RespClient:
        existing = self.connections.get(self.current)
        if existing is not None:
            return existing
        client = RespClient(self.server.host, self.server.port, timeout=REPLY_TIMEOUT_S)
        self.connections[self.current] = client
        if self.variant == "resp3":
            reply = client.command("HELLO", "3")
            if not reply.startswith(b"%"):
                raise RuntimeError(
                    f"{self.server.label}: HELLO 3 did not return a map: {reply!r}")
        return client

    def close_all(self) -> None:
        for client in self.connections.values():
            client.close()
        self.connections.clear()

    def perform(self, step: Step) -> Outcome:
        """Performs a step on this side and returns what happened."""
        if self.broken:
            return Outcome("skipped")
        action = step.action
        if action == "conn":
            self.current = int(step.args[0])
            self.conn()
            return NO_OUTCOME
        if action == "sleep":
            return NO_OUTCOME  # the runner sleeps once for both sides
        client = self.conn()
        try:
            if action == "command":
                if step.mode == "scanall":
                    return self._scan_all(client, step.args)
                client.send_command(step.args)
                return self._read(client)
            if action == "raw":
                client.send_raw(step.args[0])
                return self._read(client)
            if action == "send":
                client.send_raw(step.args[0])
                return NO_OUTCOME
            if action == "read":
                return self._read(client)
            if action == "noreply":
                wait_ms = int(step.args[0]) if step.args else DEFAULT_NOREPLY_MS
                data = client.expect_nothing(wait_ms / 1000.0)
                return Outcome("data", data) if data else Outcome("nothing")
            if action == "closed":
                closed, data = client.wait_closed(CLOSE_WAIT_S)
                return Outcome("closed") if closed else Outcome("open", data)
        except ConnectionClosed:
            return Outcome("closed")
        raise AssertionError(f"unhandled action {action}")

    def _read(self, client: RespClient) -> Outcome:
        try:
            return Outcome("reply", client.read_reply())
        except ReplyTimeout as exc:
            self.broken = True
            return Outcome("timeout", exc.partial)
        except RespProtocolError as exc:
            self.broken = True
            return Outcome("garbage", str(exc).encode())

    def _scan_all(self, client: RespClient, args: list[bytes]) -> Outcome:
        """Iterates SCAN (or SSCAN, HSCAN, ZSCAN) from the given cursor until 0.

        Returns the first error reply as is, or a synthetic array reply of the
        sorted, de-duplicated keys seen.
        """
        keys: set[bytes] = set()
        args = list(args)
        for _ in range(MAX_SCAN_CALLS):
            client.send_command(args)
            outcome = self._read(client)
            if outcome.kind != "reply":
                return outcome
            node = parse_reply(outcome.data)
            if node.kind in "-!":
                return outcome
            if node.kind != "*" or len(node.children or []) != 2:
                return Outcome("garbage", b"SCAN reply is not [cursor, keys]: " + outcome.data)
            cursor, batch = node.children
            keys.update(child.value for child in batch.children or [])
            if cursor.value == b"0":
                return Outcome("reply", encode_command(sorted(keys)))
            args[SCAN_COMMANDS[args[0].upper()]] = cursor.value
        return Outcome("garbage", b"SCAN did not finish")


def _shape(node: Node):
    """Types and sizes of a reply, keeping map keys but not scalar values."""
    if node.children is None:
        return node.kind
    shapes = []
    for index, child in enumerate(node.children):
        if node.kind == "%" and index % 2 == 0 and child.children is None:
            shapes.append((child.kind, child.value))
        else:
            shapes.append(_shape(child))
    return (node.kind, tuple(shapes))


def _sorted_form(node: Node):
    """A comparable form of a reply that ignores element order.

    Arrays and sets whose elements are all scalars are sorted, and the pairs
    of every map are sorted by key; other aggregates keep their order.
    """
    if node.children is None:
        return (node.kind, node.value)
    forms = [_sorted_form(child) for child in node.children]
    if node.kind == "%":
        pairs = sorted(zip(forms[0::2], forms[1::2]))
        return (node.kind, tuple(pairs))
    if node.kind in "*~" and all(child.children is None for child in node.children):
        forms.sort()
    return (node.kind, tuple(forms))


def _check_one(step: Step, outcome: Outcome) -> str | None:
    """For per-side modes, returns why the outcome is unacceptable, or None."""
    if outcome.kind != "reply":
        return f"expected a reply, got {outcome.describe()}"
    if step.mode == "int":
        low, high = step.mode_args
        node = parse_reply(outcome.data)
        if node.kind != ":" or not low <= int(node.value) <= high:
            return f"expected an integer in [{low}, {high}], got {outcome.data!r}"
    elif step.mode == "match":
        (pattern,) = step.mode_args
        if not pattern.fullmatch(outcome.data):
            return f"reply {outcome.data!r} does not match /{pattern.pattern!r}/"
    return None


def compare(step: Step, ref: Outcome, target: Outcome) -> str | None:
    """Returns a description of why the two outcomes differ, or None."""
    mode = step.mode
    if mode in ("int", "match", "any"):
        problems = []
        for label, outcome in (("reference", ref), ("target", target)):
            problem = _check_one(step, outcome)
            if problem:
                problems.append(f"{label}: {problem}")
        return "; ".join(problems) or None
    if mode in ("exact", "scanall") or ref.kind != "reply" or target.kind != "reply":
        return None if ref == target else "outcomes differ"
    ref_node, target_node = parse_reply(ref.data), parse_reply(target.data)
    if mode == "type":
        same = ref_node.kind == target_node.kind
    elif mode == "shape":
        same = _shape(ref_node) == _shape(target_node)
    elif mode == "sorted":
        same = _sorted_form(ref_node) == _sorted_form(target_node)
    else:
        raise AssertionError(f"unknown mode {mode}")
    return None if same else f"replies differ in ~{mode} comparison"


@dataclasses.dataclass
class StepResult:
    step: Step
    ref: Outcome
    target: Outcome
    problem: str | None


@dataclasses.dataclass
class CaseResult:
    case: Case
    variant: str
    ref_label: str
    target_label: str
    steps: list[StepResult]
    setup_error: str | None = None

    @property
    def failures(self) -> list[StepResult]:
        return [s for s in self.steps if s.problem]

    @property
    def reference_problems(self) -> list[StepResult]:
        """Steps where the reference itself did not behave as the case assumes."""
        bad = []
        for result in self.steps:
            if result.ref.kind in ("timeout", "garbage"):
                bad.append(result)
            elif result.step.mode in ("int", "match", "any") and _check_one(result.step, result.ref):
                bad.append(result)
        return bad

    def report(self) -> str:
        lines = [f"case {self.case.case_id} [{self.variant}]: "
                 f"reference={self.ref_label} target={self.target_label}"]
        if self.setup_error:
            lines.append(f"setup error: {self.setup_error}")
        for result in self.steps:
            marker = "MISMATCH" if result.problem else "ok"
            lines.append(f"{result.step.line:4d}| {result.step.text}   [{marker}]")
            if result.ref.kind == "none" and result.target.kind == "none":
                continue
            lines.append(f"      ref:    {result.ref.describe()}")
            if result.problem:
                lines.append(f"      target: {result.target.describe()}")
                lines.append(f"      why:    {result.problem}")
                lines += _byte_diff(result.ref, result.target)
        return "\n".join(lines)


def _byte_diff(ref: Outcome, target: Outcome) -> list[str]:
    """A line diff of both outcomes split at CRLF, for multi-line replies."""
    if ref.kind != "reply" or target.kind != "reply":
        return []
    ref_lines = [repr(part) for part in ref.data.split(b"\r\n")]
    target_lines = [repr(part) for part in target.data.split(b"\r\n")]
    if len(ref_lines) < 3 and len(target_lines) < 3:
        return []
    diff = difflib.unified_diff(ref_lines, target_lines, "reference", "target", lineterm="", n=2)
    return ["      " + line for line in diff]


def run_case(case: Case, variant: str, ref_server: ManagedServer,
             target_server: ManagedServer) -> CaseResult:
    """Runs every step of `case` on both servers; never raises for mismatches."""
    ref = Side(ref_server, variant)
    target = Side(target_server, variant)
    results: list[StepResult] = []
    result = CaseResult(case, variant, ref_server.label, target_server.label, results)
    try:
        for step in case.steps:
            if step.action in ("resp2", "resp3"):
                continue
            if step.action == "sleep":
                time.sleep(int(step.args[0]) / 1000.0)
                continue
            ref_outcome = ref.perform(step)
            target_outcome = target.perform(step)
            problem = compare(step, ref_outcome, target_outcome)
            results.append(StepResult(step, ref_outcome, target_outcome, problem))
            if target.broken:
                break
    except Exception as exc:  # noqa: BLE001 - reported as the case's failure
        result.setup_error = f"{type(exc).__name__}: {exc}"
    finally:
        ref.close_all()
        target.close_all()
    return result
