"""A real redis-server used as understudy's primary, with fault injection.

`Primary` is a redis-server on a free loopback port with its own temp dir.
Faults it can inject, each by the process's own PID or an admin connection:

  kill()                  SIGKILL: connections reset, new ones refused.
  pause() / resume()      SIGSTOP / SIGCONT: connections stay open, nothing
                          is answered (a hang); the kernel still accepts.
  restart()               a fresh process on the SAME port (clients that
                          reconnect to the address find it again).
  prepare_dataset() then
  restart_loading()       restart into a long -LOADING phase: the saved
                          dataset is loaded with Redis 7.0's hidden
                          `key-load-delay` (microseconds per key), and
                          `loading-process-events-interval-bytes 1024` makes
                          the server answer -LOADING within milliseconds
                          instead of blocking until 2 MB were read.
  reload_in_place()       DEBUG RELOAD with key-load-delay: the SAME process
                          answers -LOADING on connections that stay open.
  kill_clients()          CLIENT KILL TYPE normal (or by address) from an
                          admin connection, which itself survives (SKIPME).

Every wait here is bounded in time; every process is ended by its own PID.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from typing import Callable, Iterator

import redis

from support.servers import HOST, RedisServer, ServerStartError

# Added to every primary: DEBUG POPULATE / DEBUG RELOAD from loopback only,
# and prompt -LOADING replies while a dataset loads.
_PRIMARY_ARGS = [
    "--enable-debug-command", "local",
    "--loading-process-events-interval-bytes", "1024",
    # DEBUG POPULATE's padded values would shrink to a few bytes each.
    "--rdbcompression", "no",
]

# Redis's reply while it loads; redis-py raises BusyLoadingError for it.
LOADING_PREFIX = b"-LOADING"


def wait_until(predicate: Callable[[], object], timeout_s: float, interval_s: float = 0.01,
               what: str = "condition") -> object:
    """Polls `predicate` until it returns a truthy value, at most `timeout_s`.

    Returns that value; raises TimeoutError naming `what` (with the last
    exception the predicate raised, if any) when the time runs out.
    """
    deadline = time.monotonic() + timeout_s
    last_problem = ""
    while True:
        try:
            value = predicate()
            if value:
                return value
        except Exception as exc:  # noqa: BLE001 - not there yet; retry.
            last_problem = f" (last: {type(exc).__name__}: {exc})"
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{what} not reached within {timeout_s:.1f}s{last_problem}")
        time.sleep(interval_s)


def process_state(pid: int) -> str:
    """The one-letter state of a Linux process (R, S, T for stopped, Z...)."""
    with open(f"/proc/{pid}/stat", "rb") as stat:
        # The command name is in parentheses and may hold spaces.
        return stat.read().rsplit(b")", 1)[1].split()[0].decode()


class Primary(RedisServer):
    """A redis-server standing in as the primary, with fault injection."""

    label = "primary"

    def __init__(self, extra_args: list[str] | None = None, password: str | None = None):
        super().__init__([*_PRIMARY_ARGS, *(extra_args or [])], password)
        self.paused = False
        self.saved_keys = 0
        # Arguments for the next spawn only (restart_loading's key-load-delay).
        self._next_spawn_args: list[str] = []
        self._reload_thread: threading.Thread | None = None
        self._reload_error: list[BaseException] = []

    def command_line(self, port: int) -> list[str]:
        return [*super().command_line(port), *self._next_spawn_args]

    # --- Addresses and connections -------------------------------------------

    @property
    def address(self) -> str:
        """host:port as understudy's INFO primary_address shows it."""
        return f"{HOST}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    @contextlib.contextmanager
    def admin(self, timeout: float = 2.0) -> Iterator[redis.Redis]:
        """A redis-py connection straight to this server (not through understudy)."""
        conn = redis.Redis(host=HOST, port=self.port, password=self.password,
                           socket_timeout=timeout, socket_connect_timeout=timeout,
                           single_connection_client=True)
        try:
            yield conn
        finally:
            conn.close()

    def ping_reply(self, timeout: float = 1.0) -> bytes:
        """The raw reply to PING (b'+PONG\\r\\n', b'-LOADING ...'); raises if none."""
        with self.client(timeout=timeout) as conn:
            return conn.command("PING")

    def role(self) -> str:
        """'master' or 'slave', from ROLE."""
        with self.admin() as conn:
            return conn.execute_command("ROLE")[0].decode()

    # --- Faults ----------------------------------------------------------------

    def kill(self) -> None:
        """SIGKILL by PID and reap; the port is free again afterwards."""
        if not self.is_alive():
            raise RuntimeError(f"{self!r} is not running")
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        self.paused = False

    def pause(self) -> None:
        """SIGSTOP: the process hangs; returns once the kernel shows it stopped."""
        os.kill(self.process.pid, signal.SIGSTOP)
        self.paused = True
        pid = self.process.pid
        wait_until(lambda: process_state(pid) == "T", 5.0, 0.001, what=f"{self!r} stopped")

    def resume(self) -> None:
        """SIGCONT after pause()."""
        os.kill(self.process.pid, signal.SIGCONT)
        self.paused = False

    def restart(self, once_args: list[str] | None = None) -> None:
        """Kills the process if alive and starts a new one on the same port.

        A plain restart returns once the dataset is loaded (PING answers
        PONG), so a test may write to it straight away; with `once_args`
        (extra arguments for this start only, as restart_loading passes) it
        returns as soon as PING gets any reply, -LOADING included.
        """
        if self.is_alive():
            self.kill()
        self.stop()  # closes the log handle; the process is already gone
        self._next_spawn_args = list(once_args or [])
        try:
            self._spawn(self.port)
            self._wait_ready()
        finally:
            self._next_spawn_args = []
        if once_args is None:
            self.wait_loaded()

    def prepare_dataset(self, keys: int = 500, value_size: int = 2048) -> None:
        """Adds `keys` filler keys (`filler:<n>`) and SAVEs the whole dataset.

        Needed before restart_loading(): the restarted process loads this file.
        How long loading lasts is set through key-load-delay, not by the size,
        so the dataset stays small; values of 2 KB make every key cross the
        1 KB events interval, so -LOADING is answered within one key's delay.
        """
        with self.admin(timeout=30) as conn:
            conn.execute_command("DEBUG", "POPULATE", keys, "filler", value_size)
            conn.execute_command("SAVE")
            self.saved_keys = conn.dbsize()

    @staticmethod
    def _key_load_delay_us(keys: int, duration_s: float) -> int:
        return max(1, int(duration_s * 1e6 / max(keys, 1)))

    def restart_loading(self, duration_s: float = 2.0) -> None:
        """SIGKILL, then restart loading the saved dataset for about `duration_s`.

        key-load-delay is set from the saved key count. Returns once the new
        process answers -LOADING; raises if it answers anything else.
        """
        if not self.saved_keys:
            raise RuntimeError("restart_loading() needs prepare_dataset() first")
        delay = self._key_load_delay_us(self.saved_keys, duration_s)
        self.restart(["--key-load-delay", str(delay)])
        reply = self.ping_reply()
        if not reply.startswith(LOADING_PREFIX):
            raise ServerStartError(f"restarted {self!r} is not loading; PING gave {reply!r}")

    def reload_in_place(self, duration_s: float = 2.0) -> None:
        """DEBUG RELOAD slowed by key-load-delay: -LOADING on open connections.

        The process keeps its connections and its data (RELOAD saves first);
        loading lasts about `duration_s` (key-load-delay from DBSIZE). Returns
        once another connection sees -LOADING; wait_loaded() waits for the
        end and restores key-load-delay 0.
        """
        with self.admin() as conn:
            delay = self._key_load_delay_us(conn.dbsize(), duration_s)
            conn.config_set("key-load-delay", delay)
        self._reload_error = []

        def reload() -> None:
            try:
                with self.admin(timeout=60) as conn:
                    conn.execute_command("DEBUG", "RELOAD")
            except BaseException as exc:  # noqa: BLE001 - reported by wait_loaded()
                self._reload_error.append(exc)

        self._reload_thread = threading.Thread(target=reload, name="debug-reload", daemon=True)
        self._reload_thread.start()
        wait_until(lambda: self.ping_reply().startswith(LOADING_PREFIX), 5.0, 0.002,
                   what=f"{self!r} loading after DEBUG RELOAD")

    def is_loading(self) -> bool:
        return self.ping_reply().startswith(LOADING_PREFIX)

    def wait_loaded(self, timeout_s: float = 30.0) -> float:
        """Waits until PING answers PONG; returns the seconds waited."""
        started = time.monotonic()
        wait_until(lambda: self.ping_reply() == b"+PONG\r\n", timeout_s, 0.01,
                   what=f"{self!r} done loading")
        if self._reload_thread is not None:
            self._reload_thread.join(timeout=timeout_s)
            self._reload_thread = None
            with self.admin() as conn:
                conn.config_set("key-load-delay", 0)
            if self._reload_error:
                raise RuntimeError(f"DEBUG RELOAD failed: {self._reload_error[0]!r}")
        return time.monotonic() - started

    def client_list(self) -> list[dict[str, str]]:
        """CLIENT LIST as dicts (addr, name, flags, cmd, ...), this connection excluded."""
        with self.admin() as conn:
            me = conn.client_id()
            return [c for c in conn.client_list() if int(c["id"]) != me]

    def kill_clients(self, addrs: list[str] | None = None) -> int:
        """Closes client connections; returns how many Redis closed.

        Without `addrs`: CLIENT KILL TYPE normal (every ordinary client but
        the admin connection issuing it; replicas and pub/sub clients stay).
        With `addrs`: CLIENT KILL ADDR for each ip:port listed.
        """
        with self.admin() as conn:
            if addrs is None:
                return int(conn.execute_command("CLIENT", "KILL", "TYPE", "normal"))
            closed = 0
            for addr in addrs:
                closed += int(conn.execute_command("CLIENT", "KILL", "ADDR", addr, "SKIPME", "yes"))
            return closed

    def stop(self) -> None:
        """As ManagedServer.stop, but continues a paused process first."""
        if self.paused and self.is_alive():
            os.kill(self.process.pid, signal.SIGCONT)
        self.paused = False
        super().stop()
