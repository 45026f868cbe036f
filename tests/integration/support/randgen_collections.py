"""The collection families of the random command generator (see
support/randgen.py): hashes, sets, sorted sets (with lexicographic ranges on
keys of their own) and lists.
"""

from __future__ import annotations

from support.randgen_data import (BAD_SCORES, ELEMENTS, FIELDS, FLOAT_INCREMENTS, INCREMENTS,
                                  INT_MEMBERS, KEY_POOLS, LEX_BOUNDS, LEX_MEMBERS, LONG, MEMBERS,
                                  RANGE_SCORES, SCORES, STRING_VALUES, ZMEMBERS, Cmd,
                                  GeneratorBase)


class CollectionFamilies(GeneratorBase):
    """Commands of the collection types; each method returns one Cmd."""

    # SPOP of part of a set leaves the servers with different members until
    # the runner reconciles them; the generator turns this off when OBJECT
    # ENCODING is in the mix (see CommandGenerator).
    _random_pops = True

    # -- hashes ---------------------------------------------------------

    def _hash_value(self) -> bytes:
        return self._pick(STRING_VALUES + [b"v1", b"v2", b"v3"])

    def _hashes(self, in_multi: bool) -> Cmd:
        k = self._key("hashes")
        f = self._pick(FIELDS)
        roll = self.rng.randrange(21)
        if roll < 5:
            name = self._pick([b"HSET", b"HSET", b"HMSET"])
            args = [name, k]
            for _ in range(self.rng.randint(1, 4)):
                args += [self._pick(FIELDS), self._hash_value()]
            return Cmd(args, (k,))
        if roll == 5:
            return Cmd([b"HSETNX", k, f, self._hash_value()], (k,))
        if roll < 8:
            return Cmd([b"HGET", k, f], (k,))
        if roll == 8:
            fields = [self._pick(FIELDS) for _ in range(self.rng.randint(1, 4))]
            return Cmd([b"HMGET", k, *fields], (k,))
        if roll < 10:
            fields = [self._pick(FIELDS) for _ in range(self.rng.randint(1, 3))]
            return Cmd([b"HDEL", k, *fields], (k,))
        if roll == 10:
            name = self._pick([b"HLEN", b"HEXISTS", b"HSTRLEN"])
            return Cmd([name, k] if name == b"HLEN" else [name, k, f], (k,))
        if roll == 11:
            return Cmd([b"HINCRBY", k, f, self._pick(INCREMENTS)], (k,))
        if roll == 12:
            return Cmd([b"HINCRBYFLOAT", k, f, self._pick(FLOAT_INCREMENTS)], (k,))
        if roll < 15:
            name = self._pick([b"HGETALL", b"HKEYS", b"HVALS"])
            if in_multi:
                return Cmd([name, k], (k,), mode="pairs" if name == b"HGETALL" else "sorted")
            return Cmd([name, k], (k,), mode="hashorder", pairs=name == b"HGETALL")
        if roll < 17 and not in_multi:
            return self._random_read(b"HRANDFIELD", k, b"WITHVALUES", [b"HGETALL", k])
        if roll == 17 and not in_multi:
            args = [b"HSCAN", k, b"0"]
            if self.rng.random() < 0.3:
                args += [b"MATCH", self._pick([b"f*", b"?", b"*1*"])]
            if self.rng.random() < 0.3:
                args += [b"COUNT", self._pick([b"1", b"2", b"50"])]
            return Cmd(args, (k,), mode="scan", pairs=True)
        if roll == 18:
            return Cmd([b"HSET", k, f, LONG], (k,))  # converts past the value limit
        return Cmd([b"HGET", k, f], (k,))

    def _random_read(self, name: bytes, key: bytes, with_option: bytes,
                     probe: list[bytes]) -> Cmd:
        """SRANDMEMBER / HRANDFIELD / ZRANDMEMBER with or without a count."""
        args = [name, key]
        pairs = distinct = False
        if self.rng.random() < 0.7:
            count = self._pick([-5, -1, 0, 1, 2, 3, 50])
            args.append(str(count).encode())
            distinct = count > 0
            if with_option and self.rng.random() < 0.4:
                args.append(with_option)
                pairs = True
        if pairs and probe[0] == b"ZRANGE":
            probe = probe + [b"WITHSCORES"]
        return Cmd(args, (key,), mode="sample", probe=probe, pairs=pairs, distinct=distinct)

    # -- sets -----------------------------------------------------------

    def _set_member(self, key: bytes) -> bytes:
        if key in (b"set:0", b"set:1"):
            return self._pick(INT_MEMBERS)
        return self._pick(MEMBERS)

    def _set_keys(self, low: int, high: int) -> list[bytes]:
        return [self._key("sets") for _ in range(self.rng.randint(low, high))]

    def _sets(self, in_multi: bool) -> Cmd:
        k = self._key("sets")
        roll = self.rng.randrange(22)
        if roll < 6:
            members = [self._set_member(k) for _ in range(self.rng.randint(1, 4))]
            return Cmd([b"SADD", k, *members], (k,))
        if roll < 8:
            members = [self._set_member(k) for _ in range(self.rng.randint(1, 3))]
            return Cmd([b"SREM", k, *members], (k,))
        if roll == 8:
            if self.rng.random() < 0.5:
                return Cmd([b"SISMEMBER", k, self._set_member(k)], (k,))
            members = [self._set_member(k) for _ in range(self.rng.randint(1, 3))]
            return Cmd([b"SMISMEMBER", k, *members], (k,))
        if roll == 9:
            return Cmd([b"SCARD", k], (k,))
        if roll < 12:
            return Cmd([b"SMEMBERS", k], (k,), mode="sorted")
        if roll == 12:
            dest = self._key("sets")
            return Cmd([b"SMOVE", k, dest, self._set_member(k)], (k, dest))
        if roll < 15:
            name = self._pick([b"SINTER", b"SUNION", b"SDIFF"])
            keys = self._set_keys(1, 3)
            return Cmd([name, *keys], tuple(keys), mode="sorted")
        if roll < 17:
            name = self._pick([b"SINTERSTORE", b"SUNIONSTORE", b"SDIFFSTORE"])
            dest = self._key("sets")
            keys = self._set_keys(1, 3)
            return Cmd([name, dest, *keys], (dest, *keys))
        if roll == 17:
            keys = self._set_keys(1, 3)
            args = [b"SINTERCARD", str(len(keys)).encode(), *keys]
            if self.rng.random() < 0.4:
                args += [b"LIMIT", self._pick([b"0", b"1", b"3", b"-1"])]
            return Cmd(args, tuple(keys))
        if roll == 18:
            return self._spop(k, in_multi)
        if roll == 19 and not in_multi:
            return self._random_read(b"SRANDMEMBER", k, b"", [b"SMEMBERS", k])
        if roll == 20 and not in_multi:
            args = [b"SSCAN", k, b"0"]
            if self.rng.random() < 0.3:
                args += [b"MATCH", self._pick([b"1*", b"?", b"[a-c]"])]
            if self.rng.random() < 0.3:
                args += [b"COUNT", self._pick([b"1", b"3", b"100"])]
            return Cmd(args, (k,), mode="scan")
        return Cmd([b"SCARD", k], (k,))

    def _spop(self, key: bytes, in_multi: bool) -> Cmd:
        if in_multi or not self._random_pops or self.rng.random() < 0.3:
            # A count of zero or above any set's size is deterministic.
            return Cmd([b"SPOP", key, self._pick([b"0", b"1000", b"-1"])], (key,), mode="sorted")
        args = [b"SPOP", key]
        if self.rng.random() < 0.6:
            args.append(self._pick([b"1", b"2", b"3"]))
        return Cmd(args, (key,), mode="spop", probe=[b"SMEMBERS", key])

    # -- sorted sets ----------------------------------------------------

    def _zset_keys(self, low: int, high: int) -> list[bytes]:
        # Sources of ZUNION and friends may also be plain sets.
        return [self._key("zsets") if self.rng.random() < 0.8 else self._key("sets")
                for _ in range(self.rng.randint(low, high))]

    def _score_range(self) -> list[bytes]:
        return [self._pick(RANGE_SCORES), self._pick(RANGE_SCORES)]

    def _limit(self) -> list[bytes]:
        if self.rng.random() < 0.35:
            return [b"LIMIT", self._int(-1, 3), self._pick([b"-1", b"0", b"1", b"2", b"5"])]
        return []

    def _withscores(self) -> list[bytes]:
        return [b"WITHSCORES"] if self.rng.random() < 0.5 else []

    def _zsets(self, in_multi: bool) -> Cmd:
        if self.rng.random() < 0.2:
            return self._lex_zsets(in_multi)
        k = self._key("zsets")
        m = self._pick(ZMEMBERS)
        roll = self.rng.randrange(30)
        if roll < 7:
            args = [b"ZADD", k]
            incr = self.rng.random() < 0.1
            for flag_set in ([b"NX", b"XX"], [b"GT", b"LT"], [b"CH"]):
                if self.rng.random() < 0.12:
                    args.append(self._pick(flag_set))
            if incr:
                args.append(b"INCR")
            for _ in range(1 if incr else self.rng.randint(1, 4)):
                score = self._pick(BAD_SCORES if self.rng.random() < 0.03 else SCORES)
                args += [score, self._pick(ZMEMBERS)]
            return Cmd(args, (k,))
        if roll == 7:
            return Cmd([b"ZINCRBY", k, self._pick(SCORES + [b"abc"]), m], (k,))
        if roll == 8:
            members = [self._pick(ZMEMBERS) for _ in range(self.rng.randint(1, 3))]
            return Cmd([b"ZREM", k, *members], (k,))
        if roll == 9:
            return Cmd([b"ZCARD", k], (k,))
        if roll == 10:
            if self.rng.random() < 0.5:
                return Cmd([b"ZSCORE", k, m], (k,))
            members = [self._pick(ZMEMBERS) for _ in range(self.rng.randint(1, 3))]
            return Cmd([b"ZMSCORE", k, *members], (k,))
        if roll == 11:
            return Cmd([self._pick([b"ZRANK", b"ZREVRANK"]), k, m], (k,))
        if roll == 12:
            return Cmd([b"ZCOUNT", k, *self._score_range()], (k,))
        if roll < 16:
            args = [b"ZRANGE", k]
            if self.rng.random() < 0.5:
                args += [self._int(-6, 6), self._int(-6, 8)]
                if self.rng.random() < 0.3:
                    args.append(b"REV")
            else:
                args += self._score_range() + [b"BYSCORE"]
                if self.rng.random() < 0.3:
                    args.append(b"REV")
                args += self._limit()
            return Cmd(args + self._withscores(), (k,))
        if roll == 16:
            name = self._pick([b"ZRANGEBYSCORE", b"ZREVRANGEBYSCORE"])
            return Cmd([name, k, *self._score_range(), *self._withscores(), *self._limit()], (k,))
        if roll == 17:
            return Cmd([b"ZREVRANGE", k, self._int(-5, 5), self._int(-5, 8), *self._withscores()],
                       (k,))
        if roll == 18:
            if self.rng.random() < 0.5:
                return Cmd([b"ZREMRANGEBYRANK", k, self._int(-4, 3), self._int(-4, 3)], (k,))
            return Cmd([b"ZREMRANGEBYSCORE", k, *self._score_range()], (k,))
        if roll < 21:
            args = [self._pick([b"ZPOPMIN", b"ZPOPMAX"]), k]
            if self.rng.random() < 0.5:
                args.append(self._pick([b"0", b"1", b"2", b"5", b"-1"]))
            return Cmd(args, (k,))
        if roll == 21:
            keys = self._zset_keys(1, 2)
            args = [b"ZMPOP", str(len(keys)).encode(), *keys, self._pick([b"MIN", b"MAX"])]
            if self.rng.random() < 0.5:
                args += [b"COUNT", self._pick([b"1", b"2", b"10", b"0"])]
            return Cmd(args, tuple(keys))
        if roll < 24:
            return self._zset_algebra(store=roll == 22)
        if roll == 24:
            keys = self._zset_keys(1, 3)
            args = [b"ZINTERCARD", str(len(keys)).encode(), *keys]
            if self.rng.random() < 0.3:
                args += [b"LIMIT", self._pick([b"0", b"1", b"2"])]
            return Cmd(args, tuple(keys))
        if roll == 25:
            dest = self._key("zsets")
            args = [b"ZRANGESTORE", dest, k]
            by_score = self.rng.random() < 0.5
            if by_score:
                args += self._score_range() + [b"BYSCORE"]
            else:
                args += [self._int(-4, 4), self._int(-4, 6)]
            if self.rng.random() < 0.2:
                args.append(b"REV")
            if by_score:
                args += self._limit()
            return Cmd(args, (dest, k))
        if roll == 26 and not in_multi:
            return self._random_read(b"ZRANDMEMBER", k, b"WITHSCORES", [b"ZRANGE", k, b"0", b"-1"])
        if roll == 27 and not in_multi:
            args = [b"ZSCAN", k, b"0"]
            if self.rng.random() < 0.3:
                args += [b"MATCH", self._pick([b"m*", b"?", b"*1*"])]
            if self.rng.random() < 0.3:
                args += [b"COUNT", self._pick([b"1", b"2", b"100"])]
            return Cmd(args, (k,), mode="scan", pairs=True)
        return Cmd([b"ZSCORE", k, m], (k,))

    def _zset_algebra(self, store: bool) -> Cmd:
        """ZUNION/ZINTER/ZDIFF, or their STORE forms."""
        name = self._pick([b"ZUNION", b"ZINTER", b"ZDIFF"])
        keys = self._zset_keys(1, 3)
        args = [name + (b"STORE" if store else b"")]
        touched = tuple(keys)
        if store:
            dest = self._key("zsets")
            args.append(dest)
            touched = (dest, *keys)
        args += [str(len(keys)).encode(), *keys]
        if name != b"ZDIFF":
            if self.rng.random() < 0.4:
                weights = [b"1", b"2", b"0", b"-1", b"1.5", b"inf", b"-inf", b"x"]
                args += [b"WEIGHTS"] + [self._pick(weights) for _ in keys]
            if self.rng.random() < 0.4:
                args += [b"AGGREGATE", self._pick([b"SUM", b"MIN", b"MAX", b"avg"])]
        if not store:
            args += self._withscores()
        return Cmd(args, touched)

    def _lex_zsets(self, in_multi: bool) -> Cmd:
        k = self._pick(KEY_POOLS["lex"])
        bounds = [self._pick(LEX_BOUNDS), self._pick(LEX_BOUNDS)]
        if self.rng.random() < 0.03:
            bounds[0] = b"b"  # not a valid range item
        roll = self.rng.randrange(9)
        if roll < 3:
            members = [self._pick(LEX_MEMBERS) for _ in range(self.rng.randint(1, 4))]
            args = [b"ZADD", k]
            for member in members:
                args += [b"0", member]
            return Cmd(args, (k,))
        if roll == 3:
            name = self._pick([b"ZRANGEBYLEX", b"ZREVRANGEBYLEX"])
            return Cmd([name, k, *bounds, *self._limit()], (k,))
        if roll == 4:
            return Cmd([b"ZLEXCOUNT", k, *bounds], (k,))
        if roll == 5:
            return Cmd([b"ZREMRANGEBYLEX", k, *bounds], (k,))
        if roll == 6:
            args = [b"ZRANGE", k, *bounds, b"BYLEX"]
            if self.rng.random() < 0.3:
                args.append(b"REV")
            return Cmd(args + self._limit(), (k,))
        if roll == 7:
            dest = self._pick(KEY_POOLS["lex"])
            return Cmd([b"ZRANGESTORE", dest, k, *bounds, b"BYLEX", *self._limit()], (dest, k))
        return Cmd([self._pick([b"ZPOPMIN", b"ZREM"]), k]
                   + ([self._pick(LEX_MEMBERS)] if self.rng.random() < 0.5 else []), (k,))

    # -- lists ----------------------------------------------------------

    def _lists(self, in_multi: bool) -> Cmd:
        k = self._key("lists")
        e = self._pick(ELEMENTS)
        roll = self.rng.randrange(24)
        if roll < 6:
            name = self._pick([b"LPUSH", b"RPUSH", b"LPUSH", b"RPUSH", b"LPUSHX", b"RPUSHX"])
            elements = [self._pick(ELEMENTS) for _ in range(self.rng.randint(1, 5))]
            return Cmd([name, k, *elements], (k,))
        if roll < 9:
            args = [self._pick([b"LPOP", b"RPOP"]), k]
            if self.rng.random() < 0.4:
                args.append(self._pick([b"0", b"1", b"2", b"10", b"-1"]))
            return Cmd(args, (k,))
        if roll == 9:
            return Cmd([b"LLEN", k], (k,))
        if roll < 13:
            return Cmd([b"LRANGE", k, self._int(-8, 6), self._int(-8, 12)], (k,))
        if roll == 13:
            return Cmd([b"LINDEX", k, self._int(-8, 8)], (k,))
        if roll == 14:
            return Cmd([b"LSET", k, self._int(-6, 6), e], (k,))
        if roll == 15:
            return Cmd([b"LINSERT", k, self._pick([b"BEFORE", b"AFTER", b"MIDDLE"]),
                        self._pick(ELEMENTS), e], (k,))
        if roll == 16:
            return Cmd([b"LREM", k, self._int(-3, 3), e], (k,))
        if roll == 17:
            return Cmd([b"LTRIM", k, self._int(-6, 3), self._int(-4, 10)], (k,))
        if roll == 18:
            args = [b"LPOS", k, e]
            if self.rng.random() < 0.4:
                args += [b"RANK", self._pick([b"1", b"-1", b"2", b"-2", b"0"])]
            if self.rng.random() < 0.4:
                args += [b"COUNT", self._pick([b"0", b"1", b"3", b"-1"])]
            if self.rng.random() < 0.3:
                args += [b"MAXLEN", self._pick([b"0", b"2", b"5"])]
            return Cmd(args, (k,))
        if roll == 19:
            dest = self._key("lists")
            return Cmd([b"LMOVE", k, dest, self._pick([b"LEFT", b"RIGHT"]),
                        self._pick([b"LEFT", b"RIGHT"])], (k, dest))
        if roll == 20:
            dest = self._key("lists")
            return Cmd([b"RPOPLPUSH", k, dest], (k, dest))
        if roll == 21:
            keys = [self._key("lists") for _ in range(self.rng.randint(1, 3))]
            args = [b"LMPOP", str(len(keys)).encode(), *keys, self._pick([b"LEFT", b"RIGHT"])]
            if self.rng.random() < 0.5:
                args += [b"COUNT", self._pick([b"1", b"2", b"10", b"0"])]
            return Cmd(args, tuple(keys))
        return Cmd([b"RPUSH", k, self._pick(ELEMENTS), self._pick(ELEMENTS)], (k,))

