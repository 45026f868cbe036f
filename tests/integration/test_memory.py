"""maxmemory for the local store (issue 5, docs/memory.md): keys of classes
marked `evict yes` are evicted, a class marked `evict no` is never evicted -
new keys are refused with Redis's -OOM error and the refusal is logged - and
keys the mirror takes from the primary are stored even over the limit.

Real understudy processes (standalone, and in proxy mode in front of a real
redis-server primary) driven with redis-py; each is stopped by PID.
"""

from __future__ import annotations

import pytest
import redis

from support.primary import Primary, wait_until
from support.proxied import ProxiedUnderstudy, info_understudy
from support.servers import HOST, Understudy

CLASSES = [
    "--class", "blacklist", "bl:*", "evict", "no",
    "--class", "cache", "cache:*", "evict", "yes",
]
OOM = "OOM command not allowed when used memory > 'maxmemory'."


def class_fields(daemon, name: str) -> dict[str, str]:
    line = info_understudy(daemon)[f"class_{name}"]
    return dict(item.split("=", 1) for item in line.split(","))


def count_keys(r: redis.Redis, pattern: str) -> int:
    return sum(1 for _ in r.scan_iter(match=pattern, count=1000))


def fill(r: redis.Redis, prefix: str, count: int, size: int) -> None:
    pipe = r.pipeline(transaction=False)
    for i in range(count):
        pipe.set(f"{prefix}{i}", "v" * size)
    pipe.execute()


def test_evicts_other_classes_then_refuses_and_logs_never_dropping_evict_no_keys():
    daemon = Understudy([*CLASSES, "--maxmemory-policy", "allkeys-random"]).start()
    try:
        r = redis.Redis(host=HOST, port=daemon.port, socket_timeout=10)
        fill(r, "bl:", 2000, 100)
        fill(r, "cache:", 20000, 200)
        assert class_fields(daemon, "blacklist")["keys"] == "2000"
        assert class_fields(daemon, "cache")["keys"] == "20000"
        used = r.info("memory")["used_memory"]
        # Room for about half of the cache keys.
        r.config_set("maxmemory", used - 2_500_000)

        fill(r, "cache:new", 1000, 200)
        # Every command evicts while memory is over the limit: lift it to
        # compare the counts with what is stored.
        r.config_set("maxmemory", 0)
        fields = class_fields(daemon, "cache")
        assert int(fields["evicted"]) > 5000
        assert int(fields["keys"]) == count_keys(r, "cache:*")
        assert r.info("stats")["evicted_keys"] == int(fields["evicted"])
        assert count_keys(r, "bl:*") == 2000
        r.config_set("maxmemory", used - 2_500_000)

        # Revocations fill the rest: cache keys go first, then new
        # revocations are refused; none already stored is lost.
        stored = 0
        with pytest.raises(redis.ResponseError, match="^" + OOM.replace(".", r"\.") + "$"):
            for i in range(200_000):
                r.set(f"bl:new{i}", "v" * 100)
                stored += 1
        assert stored > 0
        assert count_keys(r, "cache:*") == 0
        assert count_keys(r, "bl:*") == 2000 + stored
        fields = class_fields(daemon, "blacklist")
        assert fields["evicted"] == "0"
        assert fields["keys"] == str(2000 + stored)
        assert int(fields["oom_refused"]) >= 1
        assert r.get("bl:0") == b"v" * 100
        assert "refused 1 write(s) since the last report, the latest to class 'blacklist' " \
               "(evict no)" in daemon.log_path.read_text(errors="replace")
        # Deleting makes room again.
        r.delete(*[f"bl:{i}" for i in range(1000)])
        assert r.set("bl:after", "1")
    finally:
        daemon.stop()


def test_mirror_stores_primary_keys_over_the_limit_evicting_other_classes(primary: Primary):
    args = ["--class", "blacklist", "bl:*", "mirror", "yes", "merge", "union", "evict", "no",
            "--class", "cache", "cache:*", "mirror", "yes", "evict", "yes",
            "--maxmemory-policy", "allkeys-random"]
    daemon = ProxiedUnderstudy(primary.port, args).start_healthy()
    try:
        wait_until(lambda: info_understudy(daemon)["mirror_state"] == "live", 10.0,
                   what="mirror live")
        local = redis.Redis(host=HOST, port=daemon.port, socket_timeout=10)
        with primary.admin() as direct:
            fill(direct, "cache:", 20000, 200)
            wait_until(lambda: class_fields(daemon, "cache")["keys"] == "20000", 20.0,
                       what="cache keys mirrored")
            used = local.info("memory")["used_memory"]
            local.config_set("maxmemory", used - 1_000_000)
            # Another host revokes tokens: written on the primary directly.
            fill(direct, "bl:", 30000, 100)
            wait_until(lambda: class_fields(daemon, "blacklist")["keys"] == "30000", 30.0,
                       what="every revocation mirrored")
            cache = class_fields(daemon, "cache")
            assert int(cache["evicted"]) > 0
            assert class_fields(daemon, "blacklist")["evicted"] == "0"
            # During an outage every revocation is answered locally.
            primary.pause()
            try:
                missing = [i for i in range(0, 30000, 97) if not local.exists(f"bl:{i}")]
                assert not missing, f"revocations missing locally: {missing[:10]}"
            finally:
                primary.resume()
    finally:
        daemon.stop()
