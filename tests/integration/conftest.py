"""Fixtures for the integration tests: a reference redis-server and understudy.

Environment:
  DIFF_TARGET=understudy (default) | redis  - what to compare against the
      reference; `redis` starts a second redis-server, which proves that the
      case files are deterministic.
  UNDERSTUDY_BIN  - path of the daemon (default <repo>/build/understudy).
  DIFF_REPLY_TIMEOUT - seconds to wait for one reply (default 1.0).
  DIFF_INCLUDE_LATER=1 - also run case files marked %skip.
"""

from __future__ import annotations

import os
import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from support.pair import ServerPair  # noqa: E402
from support.resp import RespClient  # noqa: E402
from support.servers import ManagedServer, RedisServer, Understudy  # noqa: E402


def diff_target_kind() -> str:
    kind = os.environ.get("DIFF_TARGET", "understudy").strip().lower()
    if kind not in ("understudy", "redis"):
        raise pytest.UsageError(f"DIFF_TARGET must be 'understudy' or 'redis', not {kind!r}")
    return kind


def _password_of(args: tuple[str, ...]) -> str | None:
    for i, arg in enumerate(args[:-1]):
        if arg == "--requirepass":
            return args[i + 1]
    return None


def start_target(extra_args: tuple[str, ...] = ()) -> ManagedServer:
    """Starts the server under test; raises (never skips) if it cannot."""
    password = _password_of(extra_args)
    if diff_target_kind() == "redis":
        server: ManagedServer = RedisServer(list(extra_args), password)
        server.label = "redis-target"
        server.start()
        _skew_client_ids(server)
        return server
    return Understudy(list(extra_args), password).start()


def _skew_client_ids(server: ManagedServer) -> None:
    """Makes a second redis-server hand out different client ids.

    Without this both redis-servers would number connections identically and
    a case that leaks a client id into a compared reply would pass
    redis-vs-redis yet fail against understudy.
    """
    for _ in range(7):
        RespClient(server.host, server.port).close()


def start_reference(extra_args: tuple[str, ...] = ()) -> ManagedServer:
    return RedisServer(list(extra_args), _password_of(extra_args)).start()


@pytest.fixture(scope="session")
def redis_ref():
    """The reference redis-server 7.0 for the whole session."""
    server = start_reference()
    try:
        yield server
    finally:
        server.cleanup()


@pytest.fixture(scope="session")
def understudy():
    """The server under test (understudy, or redis with DIFF_TARGET=redis)."""
    server = start_target()
    try:
        yield server
    finally:
        server.cleanup()


class PairPool:
    """Server pairs by extra command-line arguments, started on first use."""

    def __init__(self, default_ref: ManagedServer, default_target: ManagedServer):
        self._pairs = {(): ServerPair(default_ref, default_target)}
        self._owned: list[ManagedServer] = []

    def get(self, extra_args: tuple[str, ...]) -> ServerPair:
        pair = self._pairs.get(extra_args)
        if pair is None:
            ref = start_reference(extra_args)
            self._owned.append(ref)
            target = start_target(extra_args)
            self._owned.append(target)
            pair = self._pairs[extra_args] = ServerPair(ref, target)
        return pair

    def close(self) -> None:
        for pair in self._pairs.values():
            pair.close()
        for server in self._owned:
            server.cleanup()


@pytest.fixture(scope="session")
def server_pool(redis_ref, understudy):
    pool = PairPool(redis_ref, understudy)
    try:
        yield pool
    finally:
        pool.close()


@pytest.fixture
def diff_servers(request, server_pool):
    """The pair for the current case, flushed, with CONFIG restored afterwards."""
    diff_case = request.getfixturevalue("diff_case")
    pair = server_pool.get(diff_case.case_file.server_args)
    notes = pair.ensure_running()
    if notes:
        print("\n".join(notes))
    pair.flushall()
    params = diff_case.case.config_params()
    saved = pair.snapshot_config(params) if params else {}
    try:
        yield pair
    finally:
        if saved:
            problems = pair.restore_config(saved)
            if problems:
                pytest.fail("could not restore CONFIG:\n" + "\n".join(problems))


@pytest.fixture
def primary():
    """A real redis-server as the primary (support/primary.py), ended by PID."""
    from support.primary import Primary

    server = Primary()
    server.start()
    yield server
    server.stop()
    server.cleanup()


@pytest.fixture
def durable_primary():
    """A primary that keeps its data across a restart (appendonly, fsync
    always): the outage tests restart it and check what it holds."""
    from support.primary import Primary

    server = Primary(["--appendonly", "yes", "--appendfsync", "always"])
    server.start()
    yield server
    server.stop()
    server.cleanup()
