"""Start and stop servers under test on free loopback ports.

Every process started here is stopped by its own PID (terminate, then kill
after a grace period); `stop()` is idempotent and is also registered with
atexit so an interrupted session does not leak daemons.
"""

from __future__ import annotations

import atexit
import os
import pathlib
import shutil
import socket
import subprocess
import tempfile
import time

from support.resp import RespClient

HOST = "127.0.0.1"
REPO_ROOT = pathlib.Path(__file__).resolve().parents[3]
STARTUP_TIMEOUT_S = 10.0
STOP_GRACE_S = 5.0


class ServerStartError(RuntimeError):
    """A server process did not come up; the message includes its log."""


def free_port() -> int:
    """Returns a loopback TCP port that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def understudy_binary() -> pathlib.Path:
    """Path of the understudy binary: $UNDERSTUDY_BIN or <repo>/build/understudy."""
    configured = os.environ.get("UNDERSTUDY_BIN")
    if configured:
        return pathlib.Path(configured)
    return REPO_ROOT / "build" / "understudy"


class ManagedServer:
    """A RESP server process on a loopback port, with its log in a temp dir."""

    #: Short label used in messages ("redis", "understudy").
    label = "server"

    def __init__(self, extra_args: list[str] | None = None, password: str | None = None):
        self.extra_args = list(extra_args or [])
        self.password = password
        self.port: int | None = None
        self.process: subprocess.Popen | None = None
        self.workdir = pathlib.Path(tempfile.mkdtemp(prefix=f"diff-{self.label}-"))
        self.log_path = self.workdir / "server.log"
        self._log_file = None
        atexit.register(self.stop)

    def command_line(self, port: int) -> list[str]:
        raise NotImplementedError

    @property
    def host(self) -> str:
        return HOST

    def start(self, attempts: int = 3) -> "ManagedServer":
        """Starts the process and waits until it answers PING.

        Retries on a fresh port if the process dies early (another process may
        have taken the port between probing and binding).
        """
        last_error: Exception | None = None
        for _ in range(attempts):
            port = free_port()
            try:
                self._spawn(port)
                self._wait_ready()
                return self
            except ServerStartError as exc:
                last_error = exc
                self.stop()
        raise last_error  # type: ignore[misc]

    def _spawn(self, port: int) -> None:
        self.port = port
        argv = self.command_line(port)
        self._log_file = open(self.log_path, "ab")
        self._log_file.write(("$ " + " ".join(argv) + "\n").encode())
        self._log_file.flush()
        try:
            self.process = subprocess.Popen(
                argv,
                cwd=self.workdir,
                stdin=subprocess.DEVNULL,
                stdout=self._log_file,
                stderr=subprocess.STDOUT,
            )
        except OSError as exc:
            raise ServerStartError(f"{self.label}: cannot execute {argv[0]}: {exc}") from exc

    def _wait_ready(self) -> None:
        """Waits until the server answers PING with any complete reply.

        Any reply counts (even an error), so a daemon that lacks PING still
        starts and the differential cases report the difference.
        """
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        last_problem = "no connection attempt yet"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServerStartError(
                    f"{self.label} exited with status {self.process.returncode} "
                    f"during startup on port {self.port}\n{self.log_tail()}"
                )
            try:
                with self.client(timeout=1.0) as probe:
                    probe.command("PING")
                    return
            except Exception as exc:  # noqa: BLE001 - not ready yet; retry.
                last_problem = f"{type(exc).__name__}: {exc}"
            time.sleep(0.02)
        raise ServerStartError(
            f"{self.label} did not answer PING on port {self.port} within "
            f"{STARTUP_TIMEOUT_S}s (last: {last_problem})\n{self.log_tail()}"
        )

    def client(self, timeout: float = 2.0) -> RespClient:
        """Opens a new raw connection (authenticated if a password is set)."""
        conn = RespClient(HOST, self.port, timeout=timeout)
        if self.password is not None:
            reply = conn.command("AUTH", self.password)
            if reply != b"+OK\r\n":
                conn.close()
                raise RuntimeError(f"{self.label}: AUTH failed: {reply!r}")
        return conn

    def is_alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_tail(self, max_bytes: int = 8000) -> str:
        """The end of the process's captured stdout/stderr, for failure messages."""
        try:
            data = self.log_path.read_bytes()
        except OSError:
            return f"(no log at {self.log_path})"
        if len(data) > max_bytes:
            data = b"...\n" + data[-max_bytes:]
        text = data.decode("utf-8", "replace")
        return f"--- {self.label} log ({self.log_path}) ---\n{text}\n--- end of log ---"

    def stop(self) -> None:
        """Stops the process by PID: SIGTERM, then SIGKILL after a grace period."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=STOP_GRACE_S)
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    def cleanup(self) -> None:
        """Stops the process and removes its working directory."""
        self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def restart(self) -> None:
        """Replaces a dead (or live) process with a fresh one on a new port."""
        self.stop()
        self.start()

    def __repr__(self) -> str:
        return f"<{self.label} port={self.port} pid={self.process.pid if self.process else None}>"


class RedisServer(ManagedServer):
    """A real redis-server with persistence disabled."""

    label = "redis"

    def __init__(self, extra_args=None, password=None, binary: str | None = None):
        super().__init__(extra_args, password)
        self.binary = binary or os.environ.get("REDIS_SERVER_BIN") or shutil.which("redis-server")
        if not self.binary:
            raise ServerStartError("redis-server not found on PATH (set REDIS_SERVER_BIN)")

    def command_line(self, port: int) -> list[str]:
        return [
            self.binary,
            "--port", str(port),
            "--bind", HOST,
            "--save", "",
            "--appendonly", "no",
            "--dir", str(self.workdir),
            *self.extra_args,
        ]


class Understudy(ManagedServer):
    """The understudy daemon, started like redis-server: --port P --directive value."""

    label = "understudy"

    def __init__(self, extra_args=None, password=None, binary: pathlib.Path | None = None):
        super().__init__(extra_args, password)
        self.binary = pathlib.Path(binary or understudy_binary())
        if not self.binary.is_file() or not os.access(self.binary, os.X_OK):
            raise ServerStartError(
                f"understudy binary not found or not executable at {self.binary}. "
                "Build it (ninja -C build understudy) or set UNDERSTUDY_BIN. "
                "To validate the test cases against a second redis-server, set "
                "DIFF_TARGET=redis."
            )

    def command_line(self, port: int) -> list[str]:
        return [str(self.binary), "--port", str(port), *self.extra_args]
