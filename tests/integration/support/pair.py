"""A reference server and a target server managed together for diff tests."""

from __future__ import annotations

from support.resp import ConnectionClosed, ReplyTimeout, RespClient, parse_reply
from support.servers import ManagedServer

SavedConfig = dict[int, list[tuple[bytes, bytes]]]


class AdminLink:
    """The harness's own connection to one server (FLUSHALL, CONFIG restore).

    Reconnects once if a case closed it (CLIENT KILL, timeout, QUIT...).
    """

    def __init__(self, server: ManagedServer):
        self.server = server
        self._client: RespClient | None = None

    def command(self, *args: bytes | str) -> bytes:
        for attempt in range(2):
            try:
                if self._client is None:
                    self._client = self.server.client(timeout=5.0)
                return self._client.command(*args)
            except (ConnectionClosed, ReplyTimeout, OSError):
                self.close()
                if attempt == 1:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


class ServerPair:
    """Reference and target servers plus the harness's links to them."""

    def __init__(self, ref: ManagedServer, target: ManagedServer):
        self.ref = ref
        self.target = target
        self.links = {id(ref): AdminLink(ref), id(target): AdminLink(target)}

    @property
    def servers(self) -> tuple[ManagedServer, ManagedServer]:
        return (self.ref, self.target)

    def link(self, server: ManagedServer) -> AdminLink:
        return self.links[id(server)]

    def ensure_running(self) -> list[str]:
        """Restarts any server that died; returns notes about restarts."""
        notes = []
        for server in self.servers:
            if not server.is_alive():
                notes.append(f"{server.label} had died; restarted.\n{server.log_tail()}")
                self.link(server).close()
                server.restart()
        return notes

    def flushall(self) -> None:
        """Empties every database on both servers."""
        for server in self.servers:
            reply = self.link(server).command("FLUSHALL")
            if reply != b"+OK\r\n":
                raise RuntimeError(f"{server.label}: FLUSHALL replied {reply!r}")

    def snapshot_config(self, params: list[bytes], only_alive: bool = False) -> SavedConfig:
        """Current values of `params` on each server (unknown ones are left out)."""
        saved: SavedConfig = {}
        for server in self.servers:
            if only_alive and not server.is_alive():
                continue
            values = []
            for param in dict.fromkeys(params):
                node = parse_reply(self.link(server).command("CONFIG", "GET", param))
                children = node.children or []
                if node.kind in "*%" and len(children) == 2:
                    values.append((param, children[1].value))
            saved[id(server)] = values
        return saved

    def restore_config(self, saved: SavedConfig) -> list[str]:
        """Sets parameters that a case changed back to their saved values.

        Returns descriptions of failures. Servers that died are skipped (the
        next case restarts them with their defaults).
        """
        params = [param for values in saved.values() for param, _ in values]
        current = self.snapshot_config(params, only_alive=True)
        problems = []
        for server in self.servers:
            if not server.is_alive():
                continue
            now = dict(current.get(id(server), []))
            for param, value in saved.get(id(server), []):
                if now.get(param) == value:
                    continue
                reply = self.link(server).command("CONFIG", "SET", param, value)
                if reply != b"+OK\r\n":
                    problems.append(f"{server.label}: CONFIG SET {param!r} {value!r} -> {reply!r}")
        return problems

    def close(self) -> None:
        for link in self.links.values():
            link.close()
