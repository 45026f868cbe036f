"""Redis Sentinel around two real redis-servers, for failover tests.

`SentinelGroup` starts a master and a replica (`--replicaof`) and 1..3
Debian redis-sentinel processes watching them under one name, with short
timeouts so a failover completes in a few seconds. `failover()` forces one
with SENTINEL FAILOVER; `kill_master_and_wait()` SIGKILLs the master and lets
the sentinels agree it is down. Both return once EVERY sentinel reports the
replica as the new master and the replica says ROLE master.
"""

from __future__ import annotations

import shutil
import time

import redis

from support.primary import Primary, wait_until
from support.servers import HOST, ManagedServer, ServerStartError

DEFAULT_NAME = "mymaster"


class Sentinel(ManagedServer):
    """One redis-sentinel process with its config file in its temp dir."""

    label = "sentinel"

    def __init__(self, master: Primary, name: str, quorum: int, down_after_ms: int,
                 failover_timeout_ms: int):
        super().__init__()
        self.binary = shutil.which("redis-sentinel")
        if not self.binary:
            raise ServerStartError("redis-sentinel not found on PATH (Debian package redis-sentinel)")
        self.master = master
        self.name = name
        self.quorum = quorum
        self.down_after_ms = down_after_ms
        self.failover_timeout_ms = failover_timeout_ms
        self.config_path = self.workdir / "sentinel.conf"

    def command_line(self, port: int) -> list[str]:
        # Sentinel rewrites its config file (ids, discovered peers), so it is
        # written afresh for each start on a new port.
        self.config_path.write_text(
            f"port {port}\n"
            f"bind {HOST}\n"
            f"dir {self.workdir}\n"
            f"sentinel monitor {self.name} {HOST} {self.master.port} {self.quorum}\n"
            f"sentinel down-after-milliseconds {self.name} {self.down_after_ms}\n"
            f"sentinel failover-timeout {self.name} {self.failover_timeout_ms}\n"
            f"sentinel parallel-syncs {self.name} 1\n"
        )
        return [self.binary, str(self.config_path)]

    def conn(self, timeout: float = 2.0) -> redis.Redis:
        return redis.Redis(host=HOST, port=self.port, socket_timeout=timeout,
                           socket_connect_timeout=timeout, single_connection_client=True)

    def sentinel_command(self, *args):
        conn = self.conn()
        try:
            return conn.execute_command("SENTINEL", *args)
        finally:
            conn.close()

    def master_address(self) -> str | None:
        """host:port from SENTINEL GET-MASTER-ADDR-BY-NAME."""
        reply = self.sentinel_command("GET-MASTER-ADDR-BY-NAME", self.name)
        if not reply:
            return None
        return f"{reply[0].decode()}:{reply[1].decode()}"


def _flat_to_dict(flat) -> dict[str, str]:
    """SENTINEL REPLICAS/MASTER entries come as flat [key, value, ...] lists."""
    if isinstance(flat, dict):
        return {str(k): str(v) for k, v in flat.items()}
    items = [x.decode() if isinstance(x, bytes) else str(x) for x in flat]
    return dict(zip(items[0::2], items[1::2]))


class SentinelGroup:
    """A master, a replica and `sentinels` redis-sentinel processes."""

    def __init__(self, sentinels: int = 3, quorum: int | None = None, name: str = DEFAULT_NAME,
                 down_after_ms: int = 1000, failover_timeout_ms: int = 3000):
        if not 1 <= sentinels <= 3:
            raise ValueError("1..3 sentinels")
        self.name = name
        self.sentinel_count = sentinels
        self.quorum = quorum or (sentinels // 2 + 1)
        self.down_after_ms = down_after_ms
        self.failover_timeout_ms = failover_timeout_ms
        self.master: Primary | None = None
        self.replica: Primary | None = None
        self.sentinels: list[Sentinel] = []
        self._all_servers: list[Primary] = []

    # --- Start and stop -------------------------------------------------------

    def start(self, timeout_s: float = 20.0) -> "SentinelGroup":
        """Starts everything and waits until every sentinel sees the replica
        (and, with several sentinels, each other). Bounded by `timeout_s`."""
        try:
            # Without the 5 s diskless-sync delay the replica syncs at once.
            self.master = Primary(["--repl-diskless-sync-delay", "0"]).start()
            self._all_servers.append(self.master)
            self.replica = Primary(["--repl-diskless-sync-delay", "0",
                                    "--replicaof", HOST, str(self.master.port)]).start()
            self._all_servers.append(self.replica)
            wait_until(self._replica_in_sync, timeout_s, 0.02, what="replica link up")
            for _ in range(self.sentinel_count):
                sentinel = Sentinel(self.master, self.name, self.quorum, self.down_after_ms,
                                    self.failover_timeout_ms)
                self.sentinels.append(sentinel)
                sentinel.start()
            wait_until(self._sentinels_ready, timeout_s, 0.05, what="sentinels ready")
        except BaseException:
            self.cleanup()
            raise
        return self

    def cleanup(self) -> None:
        for sentinel in self.sentinels:
            sentinel.cleanup()
        for server in self._all_servers:
            server.cleanup()

    # --- State ---------------------------------------------------------------

    @property
    def sentinel_ports(self) -> list[int]:
        return [s.port for s in self.sentinels]

    def _replica_in_sync(self) -> bool:
        with self.replica.admin() as conn:
            return conn.info("replication").get("master_link_status") == "up"

    def _sentinels_ready(self) -> bool:
        for sentinel in self.sentinels:
            master = _flat_to_dict(sentinel.sentinel_command("MASTER", self.name))
            if "master" not in master.get("flags", "").split(","):
                return False
            if int(master.get("num-other-sentinels", 0)) != self.sentinel_count - 1:
                return False
            replicas = [_flat_to_dict(r) for r in sentinel.sentinel_command("REPLICAS", self.name)]
            good = [r for r in replicas
                    if r.get("flags") == "slave" and r.get("master-link-status") == "ok"
                    and r.get("port") == str(self.replica.port)]
            if not good:
                return False
        return True

    def reported_masters(self) -> list[str | None]:
        """Each sentinel's answer to GET-MASTER-ADDR-BY-NAME (None if it fails)."""
        addresses = []
        for sentinel in self.sentinels:
            try:
                addresses.append(sentinel.master_address())
            except redis.RedisError:
                addresses.append(None)
        return addresses

    def _all_report(self, server: Primary) -> bool:
        if any(addr != server.address for addr in self.reported_masters()):
            return False
        return server.role() == "master"

    # --- Failovers ------------------------------------------------------------

    def failover(self, timeout_s: float = 20.0) -> float:
        """SENTINEL FAILOVER on the first sentinel; waits until every sentinel
        reports the former replica as master. Returns the seconds it took."""
        started = time.monotonic()
        promoted = self.replica
        reply = self.sentinels[0].sentinel_command("FAILOVER", self.name)
        if reply not in (b"OK", "OK", True):
            raise RuntimeError(f"SENTINEL FAILOVER answered {reply!r}")
        wait_until(lambda: self._all_report(promoted), timeout_s, 0.02,
                   what=f"sentinels reporting {promoted.address} as master")
        self.master, self.replica = promoted, self.master
        return time.monotonic() - started

    def kill_master_and_wait(self, timeout_s: float = 30.0) -> float:
        """SIGKILLs the master; waits until every sentinel reports the replica
        as the new master. Returns the seconds from the kill to that moment.
        The dead server stays in `replica` (not running) until restarted."""
        started = time.monotonic()
        promoted = self.replica
        self.master.kill()
        wait_until(lambda: self._all_report(promoted), timeout_s, 0.02,
                   what=f"sentinels promoting {promoted.address} after SIGKILL")
        self.master, self.replica = promoted, self.master
        return time.monotonic() - started

    def wait_switch_seen(self, address: str, timeout_s: float = 10.0) -> None:
        """Waits until every sentinel reports `address` as the master."""
        wait_until(lambda: all(a == address for a in self.reported_masters()), timeout_s, 0.02,
                   what=f"sentinels reporting {address}")
