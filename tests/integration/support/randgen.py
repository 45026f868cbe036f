"""Seeded random command streams for the randomized differential test.

`CommandGenerator(seed, families).steps(count)` returns the same list of
steps for the same seed and families, so a failure is reproduced by its seed
alone. A step is one command, or a small group that must run together (a
MULTI ... EXEC block with its WATCH, or a blocking pop woken by another
connection). Every command carries the keys it touches, so a failing run can
be cut down to the commands that touch the keys involved, and a compare mode
saying how much of the reply is deterministic:

  exact      byte for byte (the default).
  sorted     order is unspecified (SMEMBERS, SUNION, KEYS...): scalar arrays
             and sets are compared sorted, maps by sorted pairs.
  pairs      a flat field/value array (RESP2 HGETALL) or a map, compared as
             sorted pairs.
  hashorder  HGETALL/HKEYS/HVALS: exact while the reference's hash is a
             listpack (insertion order, deterministic), else pairs/sorted.
  ttl        relative or absolute expiry readings: integers may differ by the
             time that passed between the two servers (2 s / 2000 ms).
  sample     a random read (SRANDMEMBER, HRANDFIELD, ZRANDMEMBER, RANDOMKEY):
             same shape, every element taken from the collection (`probe`
             reads it afterwards on both sides), distinct when `distinct`.
  spop       SPOP: like sample against the set read before the pop; then
             the reference is brought to the target's state (the popped
             members differ legitimately) so later replies stay comparable.
  scan       SCAN/HSCAN/SSCAN/ZSCAN iterated to cursor 0; the de-duplicated
             elements are compared sorted.
  exec       EXEC: each element compared with the mode of its queued command.

Key space: a few keys per family plus shared keys that every family writes,
so commands of one type regularly meet keys of another (WRONGTYPE paths).
Lexicographic zset commands get keys of their own in which every score is
0, because Redis leaves lex ranges over mixed scores unspecified.

The collection families live in randgen_collections.py, the key space,
value pools and records in randgen_data.py.

Run as a script to print a stream:
  python3 randgen.py --seed 3 --families hashes,multi --count 40
"""

from __future__ import annotations

import argparse
import pathlib
import sys

if __package__ in (None, ""):  # run as a script: make "support" importable
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from support.randgen_collections import CollectionFamilies  # noqa: E402
# Cmd, Step and describe_step are re-exported for the runner and the tests.
from support.randgen_data import (ALL_KEYS, BLOCK_TIMEOUT, DEST_KEYS, ELEMENTS,  # noqa: E402
                                  FLOAT_INCREMENTS, FUTURE_UNIX_S, INCREMENTS, KEY_POOLS,
                                  SCORES, STRING_VALUES, TTL_READS, WAKE_TIMEOUT, ZMEMBERS, Cmd,
                                  Step, describe_step)

__all__ = ["FAMILIES", "CommandGenerator", "Cmd", "Step", "describe_step"]

# Families in the order of their weights below. "encodings" only asks OBJECT
# ENCODING, so it is meaningful only together with families that make keys.
FAMILIES = ("strings", "keys", "hashes", "sets", "zsets", "lists", "blocking", "multi",
            "encodings")
_WEIGHTS = {"strings": 3, "keys": 2, "hashes": 3, "sets": 3, "zsets": 4, "lists": 3,
            "blocking": 0.5, "multi": 1, "encodings": 1}
# Families whose commands can be queued inside MULTI or sent from a second
# connection while the first one watches keys.
_DATA_FAMILIES = ("strings", "keys", "hashes", "sets", "zsets", "lists", "blocking")


class CommandGenerator(CollectionFamilies):
    """Random but reproducible commands over a small, colliding key space."""

    def __init__(self, seed: int, families: list[str] | tuple[str, ...]):
        unknown = set(families) - set(FAMILIES)
        if unknown:
            raise ValueError(f"unknown families: {sorted(unknown)}")
        if not families:
            raise ValueError("no families")
        super().__init__(seed)
        self.families = list(families)
        self._weights = [_WEIGHTS[name] for name in self.families]
        # SPOP of part of a set leaves the two servers with different members
        # until the runner reconciles them, and the reconciliation may leave
        # a different encoding; with OBJECT ENCODING in the mix only the
        # deterministic forms of SPOP are used.
        self._random_pops = "encodings" not in self.families
        inner = [name for name in self.families if name in _DATA_FAMILIES]
        self._inner_families = inner or ["strings"]

    # -- public ---------------------------------------------------------

    def steps(self, count: int) -> list[Step]:
        """`count` steps; a step may hold several commands."""
        result = []
        for index in range(count):
            family = self.rng.choices(self.families, self._weights)[0]
            result.append(self._step(index, family))
        return result

    def _step(self, index: int, family: str) -> Step:
        if family == "multi":
            return Step(index, family, self._transaction())
        if family == "blocking" and self.rng.random() < 0.2:
            return Step(index, family, self._wake_up())
        cmd = self.command(family, in_multi=False)
        flushes = cmd.args[0] in (b"FLUSHDB", b"FLUSHALL")
        return Step(index, family, [cmd], flushes=flushes)

    def command(self, family: str, in_multi: bool) -> Cmd:
        """One command of `family`. In MULTI (or sent while another
        connection watches) only modes that need no extra reads are used."""
        cmd = getattr(self, "_" + family)(in_multi)
        # Never SPOP: without its count it pops a random member.
        if cmd.mode in ("exact", "sorted") and cmd.action == "call" and cmd.args[0] != b"SPOP":
            self._maybe_mangle(cmd)
        return cmd


    # -- strings --------------------------------------------------------

    def _strings(self, in_multi: bool) -> Cmd:
        k = self._key("strings")
        v = self._pick(STRING_VALUES)
        roll = self.rng.randrange(22)
        if roll < 4:
            args = [b"SET", k, v]
            if self.rng.random() < 0.3:
                args.append(self._pick([b"NX", b"XX"]))
            if self.rng.random() < 0.2:
                args.append(b"GET")
            option = self.rng.randrange(6)
            if option == 0:
                args += [b"EX", self._int(100, 10000)]
            elif option == 1:
                args += [b"PX", self._int(100000, 999999)]
            elif option == 2:
                args.append(b"KEEPTTL")
            elif option == 3 and self.rng.random() < 0.3:
                args += [b"EX", self._pick([b"0", b"-5", b"abc"])]
            return Cmd(args, (k,))
        if roll < 7:
            return Cmd([b"GET", k], (k,))
        if roll == 7:
            keys = [self._key("strings") for _ in range(self.rng.randint(1, 3))]
            args = [b"MSET"]
            for key in keys:
                args += [key, self._pick(STRING_VALUES)]
            return Cmd(args, tuple(keys))
        if roll == 8:
            keys = [self._key("strings") for _ in range(self.rng.randint(1, 4))]
            return Cmd([b"MGET", *keys], tuple(keys))
        if roll == 9:
            keys = [self._key("strings") for _ in range(self.rng.randint(1, 2))]
            args = [b"MSETNX"]
            for key in keys:
                args += [key, self._pick(STRING_VALUES)]
            return Cmd(args, tuple(keys))
        if roll == 10:
            name = self._pick([b"INCR", b"DECR"])
            return Cmd([name, k], (k,))
        if roll == 11:
            return Cmd([self._pick([b"INCRBY", b"DECRBY"]), k, self._pick(INCREMENTS)], (k,))
        if roll == 12:
            return Cmd([b"INCRBYFLOAT", k, self._pick(FLOAT_INCREMENTS)], (k,))
        if roll == 13:
            return Cmd([b"APPEND", k, v], (k,))
        if roll == 14:
            return Cmd([b"STRLEN", k], (k,))
        if roll == 15:
            name = self._pick([b"GETRANGE", b"SUBSTR"])
            return Cmd([name, k, self._int(-6, 12), self._int(-6, 20)], (k,))
        if roll == 16:
            offset = self._int(-1, 40) if self.rng.random() < 0.1 else self._int(0, 30)
            return Cmd([b"SETRANGE", k, offset, v], (k,))
        if roll == 17:
            name = self._pick([b"SETNX", b"GETSET", b"GETDEL"])
            return Cmd([name, k] if name == b"GETDEL" else [name, k, v], (k,))
        if roll == 18:
            option = self._pick([[], [b"PERSIST"], [b"EX", self._int(100, 5000)],
                                 [b"PXAT", str(FUTURE_UNIX_S * 1000).encode()]])
            return Cmd([b"GETEX", k, *option], (k,))
        if roll == 19:
            if self.rng.random() < 0.5:
                return Cmd([b"SETEX", k, self._int(100, 9999), v], (k,))
            return Cmd([b"PSETEX", k, self._int(100000, 999999), v], (k,))
        if roll == 20:
            other = self._key("strings")
            option = self._pick([[], [b"LEN"], [b"IDX"], [b"IDX", b"WITHMATCHLEN"],
                                 [b"IDX", b"MINMATCHLEN", b"2"]])
            return Cmd([b"LCS", k, other, *option], (k, other))
        # Counters on integer-looking values: many INCRs hit strings.
        return Cmd([b"SET", k, self._int(-20, 20)], (k,))

    # -- keys and expiry ------------------------------------------------

    def _keys(self, in_multi: bool) -> Cmd:
        k = self._pick(ALL_KEYS)
        dest = self._pick(DEST_KEYS)
        roll = self.rng.randrange(24)
        if roll < 2:
            keys = [self._pick(ALL_KEYS) for _ in range(self.rng.randint(1, 2))]
            return Cmd([self._pick([b"DEL", b"UNLINK"]), *keys], tuple(keys))
        if roll == 2:
            keys = [self._pick(ALL_KEYS) for _ in range(self.rng.randint(1, 3))]
            return Cmd([self._pick([b"EXISTS", b"TOUCH"]), *keys], tuple(keys))
        if roll < 5:
            return Cmd([b"TYPE", k], (k,))
        if roll < 7:
            return Cmd([self._pick([b"RENAME", b"RENAMENX"]), k, dest], (k, dest))
        if roll == 7:
            args = [b"COPY", k, dest]
            if self.rng.random() < 0.5:
                args.append(b"REPLACE")
            return Cmd(args, (k, dest))
        if roll < 11:
            args = [b"EXPIRE", k, self._pick([self._int(100, 100000), self._int(100, 100000),
                                              b"-1", b"0", b"99999999999999999", b"abc"])]
            if self.rng.random() < 0.4:
                args.append(self._pick([b"NX", b"XX", b"GT", b"LT"]))
            return Cmd(args, (k,))
        if roll == 11:
            return Cmd([b"PEXPIRE", k, self._pick([self._int(100000, 9999999), b"-5"])], (k,))
        if roll == 12:
            when = self._pick([str(FUTURE_UNIX_S + self.rng.randint(0, 999)).encode(), b"1"])
            return Cmd([b"EXPIREAT", k, when], (k,))
        if roll == 13:
            when = str(FUTURE_UNIX_S * 1000 + self.rng.randint(0, 99999)).encode()
            return Cmd([b"PEXPIREAT", k, when], (k,))
        if roll < 17:
            return Cmd([self._pick(TTL_READS), k], (k,), mode="ttl")
        if roll == 17:
            return Cmd([b"PERSIST", k], (k,))
        if roll == 18:
            pattern = self._pick([b"*", b"s:*", b"h:?", b"*:[0-1]", b"x*", b"z*", b"nomatch"])
            return Cmd([b"KEYS", pattern], None, mode="sorted")
        if roll == 19:
            return Cmd([b"DBSIZE"], None)
        if roll == 20 and not in_multi:
            args = [b"SCAN", b"0"]
            if self.rng.random() < 0.4:
                args += [b"MATCH", self._pick([b"*:1", b"s*", b"*"])]
            if self.rng.random() < 0.4:
                args += [b"COUNT", self._pick([b"1", b"3", b"100"])]
            if self.rng.random() < 0.3:
                args += [b"TYPE", self._pick([b"string", b"hash", b"set", b"zset", b"list"])]
            return Cmd(args, None, mode="scan")
        if roll == 21 and not in_multi:
            return Cmd([b"RANDOMKEY"], None, mode="sample", probe=[b"KEYS", b"*"])
        if roll == 22 and not in_multi and self.rng.random() < 0.1:
            return Cmd([b"FLUSHDB"], None)
        return Cmd([b"EXISTS", k], (k,))


    # -- blocking pops --------------------------------------------------

    def _blocking(self, in_multi: bool, timeout: bytes = BLOCK_TIMEOUT) -> Cmd:
        """A blocking pop that returns data at once or times out after
        10 ms on empty keys (or never blocks, inside MULTI)."""
        roll = self.rng.randrange(8)
        if roll < 2:
            keys = [self._key("lists") for _ in range(self.rng.randint(1, 2))]
            args = [self._pick([b"BLPOP", b"BRPOP"]), *keys, timeout]
        elif roll == 2:
            keys = [self._key("lists"), self._key("lists")]
            args = [b"BLMOVE", *keys, self._pick([b"LEFT", b"RIGHT"]),
                    self._pick([b"LEFT", b"RIGHT"]), timeout]
        elif roll == 3:
            keys = [self._key("lists"), self._key("lists")]
            args = [b"BRPOPLPUSH", *keys, timeout]
        elif roll == 4:
            keys = [self._key("lists") for _ in range(self.rng.randint(1, 2))]
            args = [b"BLMPOP", timeout, str(len(keys)).encode(), *keys,
                    self._pick([b"LEFT", b"RIGHT"])]
            if self.rng.random() < 0.5:
                args += [b"COUNT", self._pick([b"1", b"3"])]
        elif roll < 7:
            keys = [self._key("zsets") for _ in range(self.rng.randint(1, 2))]
            args = [self._pick([b"BZPOPMIN", b"BZPOPMAX"]), *keys, timeout]
        else:
            keys = [self._key("zsets")]
            args = [b"BZMPOP", timeout, b"1", *keys, self._pick([b"MIN", b"MAX"])]
            if self.rng.random() < 0.5:
                args += [b"COUNT", self._pick([b"1", b"2"])]
        if timeout == BLOCK_TIMEOUT and self.rng.random() < 0.05:
            # Bad timeouts: the error paths.
            args[args.index(timeout)] = self._pick([b"-1", b"abc", b"inf"])
        return Cmd(args, tuple(keys))

    def _wake_up(self) -> list[Cmd]:
        """Connection 2 blocks; connection 1 pushes to one of its keys.

        The reply does not depend on whether the push arrives before or
        after the pop blocked: the pop then finds the data at once."""
        pop = self._blocking(False, timeout=WAKE_TIMEOUT)
        pop.conn, pop.action = 2, "send"
        is_zset = pop.args[0].startswith(b"BZ")
        key = self._pick([k for k in pop.keys if k.startswith(b"l:") or k.startswith(b"z:")]
                         or list(pop.keys))
        if is_zset:
            push = Cmd([b"ZADD", key, self._pick(SCORES), self._pick(ZMEMBERS)], (key,))
        else:
            elements = [self._pick(ELEMENTS) for _ in range(self.rng.randint(1, 3))]
            push = Cmd([self._pick([b"LPUSH", b"RPUSH"]), key, *elements], (key,))
        result = Cmd(list(pop.args), pop.keys, conn=2, action="read")
        return [pop, Cmd([b"0.01"], (), action="sleep"), push, result]

    # -- transactions ---------------------------------------------------

    def _transaction(self) -> list[Cmd]:
        """[WATCH, [a write from connection 2]] MULTI cmds EXEC|DISCARD."""
        cmds: list[Cmd] = []
        if self.rng.random() < 0.5:
            other = self.command(self._pick(self._inner_families), in_multi=True)
            other.conn = 2
            watched = [self._pick([k for k in (other.keys or ()) if k] or ALL_KEYS)
                       if self.rng.random() < 0.7 else self._pick(ALL_KEYS)]
            if self.rng.random() < 0.3:
                watched.append(self._pick(ALL_KEYS))
            cmds.append(Cmd([b"WATCH", *watched], tuple(watched)))
            if self.rng.random() < 0.7:
                cmds.append(other)
        cmds.append(Cmd([b"MULTI"], ()))
        queued = [self.command(self._pick(self._inner_families), in_multi=True)
                  for _ in range(self.rng.randint(1, 5))]
        sent = list(queued)
        if self.rng.random() < 0.04:
            # Rejected at queueing time: a nested MULTI is refused on its
            # own, the others make EXEC fail with EXECABORT. Not part of
            # `inner`, since none of them has a place in EXEC's reply.
            sent.insert(self.rng.randint(0, len(sent)),
                        Cmd(self._pick([[b"GET"], [b"NOSUCHCOMMAND", b"x"], [b"MULTI"]]), ()))
        cmds += sent
        keys = tuple(k for cmd in queued for k in (cmd.keys or ()))
        if self.rng.random() < 0.08:
            cmds.append(Cmd([b"DISCARD"], ()))
        else:
            cmds.append(Cmd([b"EXEC"], keys, mode="exec", inner=queued))
        return cmds

    # -- encodings ------------------------------------------------------

    def _encodings(self, in_multi: bool) -> Cmd:
        k = self._pick([key for name, pool in KEY_POOLS.items() if name != "strings"
                        for key in pool])
        return Cmd([b"OBJECT", b"ENCODING", k], (k,))



def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--families", default=",".join(FAMILIES))
    parser.add_argument("--count", type=int, default=50)
    options = parser.parse_args()
    generator = CommandGenerator(options.seed, options.families.split(","))
    for step in generator.steps(options.count):
        print("\n".join(describe_step(step)))


if __name__ == "__main__":
    main()
