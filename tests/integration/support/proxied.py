"""understudy in proxy mode in front of a real redis-server, for the proxy
compatibility tests (test_proxy_diff.py, test_proxy_clients.py,
test_proxy_tls.py).

`ProxiedUnderstudy` is an `Understudy` started with `--primary 127.0.0.1 PORT`
plus any other directives; `wait_state` polls `INFO understudy` until the
primary link reaches a state. Every process is still started and stopped by
support/servers.py (by its own PID, on a free loopback port).
"""

from __future__ import annotations

import time

from support.resp import RespClient, parse_reply
from support.servers import HOST, ManagedServer, Understudy


def info_understudy(server: ManagedServer, timeout: float = 2.0) -> dict[str, str]:
    """The fields of `INFO understudy` (raw client; works in any protocol)."""
    with server.client(timeout=timeout) as conn:
        raw = conn.command("INFO", "understudy")
    return parse_info(raw)


def parse_info(raw: bytes) -> dict[str, str]:
    """Turns an INFO reply (bulk or verbatim string) into {field: value}."""
    node = parse_reply(raw)
    if node.kind not in "$=" or node.value is None:
        raise RuntimeError(f"INFO did not return a string: {raw!r}")
    text = node.value.decode("utf-8", "replace")
    if node.kind == "=":
        text = text[4:]  # the "txt:" format prefix of a verbatim string
    fields = {}
    for line in text.splitlines():
        if line and not line.startswith("#") and ":" in line:
            name, _, value = line.partition(":")
            fields[name] = value
    return fields


def wait_state(server: ManagedServer, wanted: str | tuple[str, ...], timeout_s: float = 10.0,
               ) -> dict[str, str]:
    """Polls INFO understudy until primary_state is one of `wanted`.

    Returns the INFO fields; raises TimeoutError (with the last fields seen
    and the daemon's log) when the state is not reached in time.
    """
    return wait_info(server, "primary_state", wanted, timeout_s)


def wait_info(server: ManagedServer, field: str, wanted: str | tuple[str, ...],
              timeout_s: float = 10.0) -> dict[str, str]:
    """Polls INFO understudy until `field` is one of `wanted` (as wait_state)."""
    values = (wanted,) if isinstance(wanted, str) else wanted
    deadline = time.monotonic() + timeout_s
    fields: dict[str, str] = {}
    while True:
        fields = info_understudy(server)
        if fields.get(field) in values:
            return fields
        if time.monotonic() >= deadline:
            raise TimeoutError(
                f"{field} is {fields.get(field)!r}, not {values} after "
                f"{timeout_s}s: {fields}\n{server.log_tail()}")
        time.sleep(0.02)


def stays_not_healthy(server: ManagedServer, duration_s: float) -> dict[str, str]:
    """Checks for `duration_s` that the primary never becomes healthy.

    Returns the last INFO fields; raises AssertionError on a healthy sample.
    """
    deadline = time.monotonic() + duration_s
    while True:
        fields = info_understudy(server)
        state = fields.get("primary_state")
        assert state != "healthy", f"the primary link became healthy: {fields}"
        if time.monotonic() >= deadline:
            return fields
        time.sleep(0.05)


# The CLIENT LIST fields of an upstream connection that no client has
# changed: understudy's name, database 0, no subscription, no transaction
# under way, no flags (not blocked, not a monitor, not tracking...).
CLEAN_UPSTREAM = {"name": "understudy", "db": "0", "sub": "0", "psub": "0", "ssub": "0",
                  "multi": "-1", "flags": "N"}


def dirty_upstream(connections: dict[str, dict[str, str]],
                   before: dict[str, dict[str, str]] | None = None,
                   user: str = "default") -> list[str]:
    """Describes understudy's connections (CLIENT LIST on the primary, by id)
    that are not clean, or whose protocol changed since `before`; [] if none."""
    problems = []
    clean = {**CLEAN_UPSTREAM, "user": user}
    for client_id, fields in connections.items():
        odd = {name: fields.get(name) for name, value in clean.items() if fields.get(name) != value}
        was = (before or {}).get(client_id)
        if was is not None and was.get("resp") != fields.get("resp"):
            odd["resp"] = f"{was.get('resp')} -> {fields.get('resp')}"
        if odd:
            problems.append(f"id={client_id} " + " ".join(f"{k}={v}" for k, v in odd.items()))
    return problems


def parse_client_list(text: str) -> dict[str, dict[str, str]]:
    """CLIENT LIST output as {id: {field: value}}."""
    listing = {}
    for line in text.splitlines():
        fields = dict(part.split("=", 1) for part in line.split() if "=" in part)
        if "id" in fields:
            listing[fields["id"]] = fields
    return listing


class ProxiedUnderstudy(Understudy):
    """understudy with `--primary 127.0.0.1 <primary.port>` and more directives.

    `password` is understudy's own requirepass (for the harness's
    connections), not the primary's.
    """

    label = "understudy-proxy"

    def __init__(self, primary_port: int, extra_args: list[str] | None = None,
                 password: str | None = None):
        super().__init__(["--primary", HOST, str(primary_port), *(extra_args or [])], password)
        self.primary_port = primary_port

    def start_healthy(self, timeout_s: float = 10.0) -> "ProxiedUnderstudy":
        """Starts the daemon and waits until the primary link is healthy."""
        self.start()
        wait_state(self, "healthy", timeout_s)
        return self

    def start_mirror_live(self, timeout_s: float = 10.0) -> "ProxiedUnderstudy":
        """start_healthy(), then waits until the mirror's first load is done."""
        self.start_healthy(timeout_s)
        wait_info(self, "mirror_state", "live", timeout_s)
        return self


def raw_hello3(port: int, timeout: float = 2.0) -> tuple[RespClient, bytes]:
    """Opens a raw connection, sends HELLO 3; returns it and the raw reply."""
    conn = RespClient(HOST, port, timeout=timeout)
    return conn, conn.command("HELLO", "3")
