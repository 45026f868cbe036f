"""Data of the random command generator (support/randgen.py): the key
space, the value pools, the Cmd and Step records, and the generator's base
class with its random helpers. See randgen.py for what the compare modes mean.
"""

from __future__ import annotations

import dataclasses
import random

LONG = b"L" * 70  # longer than the default 64-byte listpack value limit

KEY_POOLS = {
    "strings": [b"s:0", b"s:1", b"s:2", b"s:3"],
    "hashes": [b"h:0", b"h:1", b"h:2", b"h:3"],
    # set:0 and set:1 only ever get integer members from the sets family,
    # so they stay intsets until something else is added.
    "sets": [b"set:0", b"set:1", b"set:2", b"set:3"],
    "zsets": [b"z:0", b"z:1", b"z:2", b"z:3"],
    "lex": [b"zl:0", b"zl:1", b"zl:2"],
    "lists": [b"l:0", b"l:1", b"l:2", b"l:3"],
    "shared": [b"x:0", b"x:1", b"x:2"],
}
ALL_KEYS = [key for pool in KEY_POOLS.values() for key in pool]
# Destinations of generic key commands: anything but the lex keys.
DEST_KEYS = [key for name, pool in KEY_POOLS.items() if name != "lex" for key in pool]

STRING_VALUES = [b"", b"0", b"1", b"-1", b"7", b"42", b"100", b"-17", b"3.5", b"1e3", b"abc",
                 b"hello world", b"9223372036854775807", b"-9223372036854775808",
                 b"12345678901234567890", b"\x00\xff\r\n", LONG, b"0x10", b" 5", b"010"]
INCREMENTS = [b"1", b"-3", b"100", b"0", b"abc", b"9223372036854775807", b"1.5", b"-1"]
FLOAT_INCREMENTS = [b"0.1", b"1.5", b"-2", b"1e2", b"abc", b"inf", b"5.0e3", b"-0.25", b"3"]
FIELDS = [b"f0", b"f1", b"f2", b"f3", b"f4", b"f5", b"f6", b"f7", b"1", b"2", b"field:long-name"]
INT_MEMBERS = [b"0", b"1", b"2", b"3", b"5", b"8", b"13", b"-3", b"40", b"100", b"65535",
               b"65536", b"2147483648", b"9223372036854775807", b"-9223372036854775808"]
MEMBERS = INT_MEMBERS + [b"a", b"b", b"c", b"d", b"e", b"0012", b"1.5", b"", LONG]
ZMEMBERS = [b"m0", b"m1", b"m2", b"m3", b"m4", b"m5", b"m6", b"m7", b"m8", b"10", b"a", LONG]
LEX_MEMBERS = [b"a", b"b", b"c", b"d", b"e", b"f", b"g", b"aa", b"ab", b"ba", b""]
SCORES = [b"0", b"1", b"2", b"3", b"-1", b"1.5", b"-2.5", b"0.1", b"10", b"100", b"+inf",
          b"-inf", b"1e2", b"3.0", b"2.5", b"1", b"2"]
BAD_SCORES = [b"abc", b"nan", b""]
RANGE_SCORES = [b"-inf", b"+inf", b"0", b"1", b"(1", b"2", b"(2.5", b"3", b"10", b"(100",
                b"-1", b"1.5", b"(-inf", b"inf"]
LEX_BOUNDS = [b"-", b"+", b"[a", b"(a", b"[b", b"(c", b"[d", b"[e", b"(g", b"[", b"(aa", b"[ba"]
ELEMENTS = [b"e0", b"e1", b"e2", b"e3", b"e4", b"1", b"2", b"-3", b"", LONG, b"e1", b"e2"]
TTL_READS = (b"TTL", b"PTTL", b"EXPIRETIME", b"PEXPIRETIME")
FUTURE_UNIX_S = 4102444800  # 2100-01-01, fixed so EXPIRETIME replies agree
BLOCK_TIMEOUT = b"0.01"  # short: the pop times out at once on an empty key
WAKE_TIMEOUT = b"1"      # long enough for the other connection's push


@dataclasses.dataclass
class Cmd:
    """One command (or a send/read/sleep action) of a step.

    keys: keys it touches; None for commands that read or clear all keys.
    action: "call" (send and read one reply), "send" (send, read later),
    "read" (read the reply of an earlier send), "sleep" (seconds in args[0]).
    """

    args: list[bytes]
    keys: tuple[bytes, ...] | None = ()
    mode: str = "exact"
    probe: list[bytes] | None = None
    pairs: bool = False
    distinct: bool = False
    conn: int = 1
    action: str = "call"
    inner: list["Cmd"] | None = None  # the queued commands, for EXEC

    def text(self) -> str:
        return " ".join(quote_arg(arg) for arg in self.args)


@dataclasses.dataclass
class Step:
    """A command or a group of commands that only make sense together."""

    index: int
    family: str
    commands: list[Cmd]
    flushes: bool = False  # empties the database (FLUSHDB / FLUSHALL)

    @property
    def keys(self) -> frozenset[bytes]:
        """The keys the step names (commands over all keys add none)."""
        return frozenset(key for cmd in self.commands for key in (cmd.keys or ()))

    @property
    def reads_all(self) -> bool:
        """True if a command reads every key (KEYS, SCAN, DBSIZE, RANDOMKEY)."""
        return not self.flushes and any(cmd.keys is None for cmd in self.commands)


def quote_arg(arg: bytes) -> str:
    """Quotes an argument as redis-cli (and the case files) read it."""
    if arg and all(0x21 <= byte < 0x7f and byte not in b"\"'\\" for byte in arg):
        return arg.decode()
    out = []
    for byte in arg:
        char = chr(byte)
        if char in "\"\\":
            out.append("\\" + char)
        elif 0x20 <= byte < 0x7f:
            out.append(char)
        else:
            out.append({"\r": "\\r", "\n": "\\n", "\t": "\\t"}.get(char, f"\\x{byte:02x}"))
    return '"' + "".join(out) + '"'


def describe_step(step: Step) -> list[str]:
    """Lines for a step in a replay listing."""
    lines = []
    for cmd in step.commands:
        if cmd.action == "sleep":
            lines.append(f"#{step.index:<5} (sleep {cmd.args[0].decode()} s)")
            continue
        prefix = f"[conn {cmd.conn}] " if cmd.conn != 1 else ""
        suffix = {"send": "   (sent; reply read later)", "read": "   (reply of the blocked call)"}
        note = suffix.get(cmd.action, "")
        if cmd.mode != "exact":
            note += f"   [{cmd.mode}]"
        lines.append(f"#{step.index:<5} {prefix}{cmd.text() if cmd.action != 'read' else ''}"
                     f"{note}".rstrip())
    return lines


class GeneratorBase:
    """The random source and the small helpers every family uses."""

    def __init__(self, seed: int):
        self.rng = random.Random(seed)

    def _pick(self, values):
        return self.rng.choice(values)

    def _key(self, pool: str) -> bytes:
        if self.rng.random() < 0.15:
            return self._pick(KEY_POOLS["shared"])
        return self._pick(KEY_POOLS[pool])

    def _int(self, low: int, high: int) -> bytes:
        return str(self.rng.randint(low, high)).encode()

    def _maybe_mangle(self, cmd: Cmd) -> None:
        """Now and then drops the last argument or adds a bogus one, for the
        arity and syntax error paths. Keys stay a superset of those used."""
        roll = self.rng.random()
        if roll < 0.015 and len(cmd.args) > 1:
            cmd.args.pop()
        elif roll < 0.025:
            cmd.args.insert(self.rng.randint(1, len(cmd.args)), b"BOGUS")

