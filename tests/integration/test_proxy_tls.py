"""The primary link's TLS and credentials, against Debian's redis-server.

TLS: a throwaway CA, a server certificate for 127.0.0.1/localhost and a
client certificate are made with the `openssl` CLI in a temp dir; a second,
unrelated CA plays the wrong one. redis-server runs with `--port 0
--tls-port X`; understudy with `primary-tls yes` and the CA file:
- commands go through and land on the primary;
- with the wrong CA the link never becomes healthy, INFO's
  primary_last_failure says why (TLS), and clients are served locally;
- with `--tls-auth-clients yes`, understudy's client certificate is needed
  and works.

Credentials: a primary with `--requirepass` (default user) and an ACL user
is reached with primary-password / primary-user; a wrong password leaves
the link down, clients are served locally, and the password never shows in
understudy's log.

Every process is started on a free loopback port and stopped by its PID.
"""

from __future__ import annotations

import pathlib
import shutil
import socket
import ssl
import subprocess
import tempfile

import pytest
import redis

from support.proxied import ProxiedUnderstudy, info_understudy, stays_not_healthy, wait_state
from support.resp import RespClient
from support.servers import HOST, RedisServer, ServerStartError

OPENSSL = shutil.which("openssl")
# How long a misconfigured link is watched for never becoming healthy: many
# probe intervals (100 ms, doubling up to the cap set below).
NOT_HEALTHY_WATCH_S = 1.5
FAST_PROBES = ["--primary-probe-interval", "50", "--primary-probe-max-interval", "200"]


# ------------------------------------------------------------------ certificates

class Certificates:
    """A CA with a server and a client certificate, plus an unrelated CA."""

    def __init__(self):
        self.dir = pathlib.Path(tempfile.mkdtemp(prefix="understudy-tls-"))
        self.ca_crt, self.ca_key = self._make_ca("ca", "understudy test CA")
        self.wrong_ca_crt, _ = self._make_ca("wrong-ca", "some other CA")
        self.server_crt, self.server_key = self._make_leaf(
            "server", "127.0.0.1", "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                                   "extendedKeyUsage=serverAuth\n")
        self.client_crt, self.client_key = self._make_leaf(
            "client", "understudy", "extendedKeyUsage=clientAuth\n")

    def _run(self, *args: str) -> None:
        result = subprocess.run([OPENSSL, *args], cwd=self.dir, capture_output=True,
                                timeout=60, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"openssl {' '.join(args)} failed:\n"
                               f"{result.stderr.decode(errors='replace')}")

    def _make_ca(self, name: str, common_name: str) -> tuple[pathlib.Path, pathlib.Path]:
        self._run("req", "-x509", "-new", "-nodes", "-newkey", "rsa:2048", "-days", "2",
                  "-keyout", f"{name}.key", "-out", f"{name}.crt", "-subj", f"/CN={common_name}")
        return self.dir / f"{name}.crt", self.dir / f"{name}.key"

    def _make_leaf(self, name: str, common_name: str,
                   extensions: str) -> tuple[pathlib.Path, pathlib.Path]:
        (self.dir / f"{name}.ext").write_text(extensions)
        self._run("req", "-new", "-nodes", "-newkey", "rsa:2048", "-keyout", f"{name}.key",
                  "-out", f"{name}.csr", "-subj", f"/CN={common_name}")
        self._run("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
                  "-CAcreateserial", "-days", "2", "-out", f"{name}.crt",
                  "-extfile", f"{name}.ext")
        return self.dir / f"{name}.crt", self.dir / f"{name}.key"

    def cleanup(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def certs():
    if OPENSSL is None:
        pytest.fail("the openssl command-line tool is needed to make test certificates")
    made = Certificates()
    try:
        yield made
    finally:
        made.cleanup()


# ------------------------------------------------------------------ TLS primary

class TlsRespClient(RespClient):
    """RespClient over TLS (the harness's own checks of a TLS redis-server)."""

    def __init__(self, host: str, port: int, context: ssl.SSLContext, timeout: float = 2.0):
        super().__init__(host, port, timeout)
        self._sock = context.wrap_socket(self._sock, server_hostname=host)


class TlsRedisServer(RedisServer):
    """redis-server listening on TLS only (`--port 0 --tls-port P`)."""

    label = "redis-tls-primary"

    def __init__(self, certs: Certificates, auth_clients: bool):
        super().__init__([
            "--tls-cert-file", str(certs.server_crt),
            "--tls-key-file", str(certs.server_key),
            "--tls-ca-cert-file", str(certs.ca_crt),
            "--tls-auth-clients", "yes" if auth_clients else "no",
        ])
        self.context = ssl.create_default_context(cafile=str(certs.ca_crt))
        self.context.load_cert_chain(str(certs.client_crt), str(certs.client_key))
        self.certs = certs

    def command_line(self, port: int) -> list[str]:
        # The later --port 0 wins over the plain port the base class sets.
        return [*super().command_line(port), "--port", "0", "--tls-port", str(port)]

    def client(self, timeout: float = 2.0) -> RespClient:
        return TlsRespClient(HOST, self.port, self.context, timeout)

    def redis_py(self) -> redis.Redis:
        return redis.Redis(host=HOST, port=self.port, ssl=True, ssl_ca_certs=str(self.certs.ca_crt),
                           ssl_certfile=str(self.certs.client_crt),
                           ssl_keyfile=str(self.certs.client_key), socket_timeout=5)


def _start_tls_primary(certs: Certificates, auth_clients: bool) -> TlsRedisServer:
    primary = TlsRedisServer(certs, auth_clients)
    try:
        primary.start()
    except ServerStartError as exc:
        pytest.fail(f"Debian's redis-server did not start with --tls-port: {exc}")
    return primary


def _plain_tcp_refused_or_closed(port: int) -> bool:
    """True if a plaintext PING to a TLS port gets no RESP answer."""
    try:
        with socket.create_connection((HOST, port), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            data = sock.recv(100)
            return not data.startswith(b"+PONG")
    except OSError:
        return True


def _start_proxy(primary_port: int, args: list[str]) -> ProxiedUnderstudy:
    return ProxiedUnderstudy(primary_port, [*FAST_PROBES, *args]).start()


def _check_proxied_writes(proxy: ProxiedUnderstudy, primary_client: redis.Redis) -> None:
    with redis.Redis(host=HOST, port=proxy.port, socket_timeout=5) as r:
        assert r.set("over-tls", "yes") is True
        assert r.incr("tls-counter") == 1
        assert r.get("over-tls") == b"yes"
        assert r.pfadd("tls-hll", "a", "b") == 1  # proxied only
        with r.pipeline(transaction=True) as tx:
            tx.incr("tls-counter").get("tls-counter")
            assert tx.execute() == [2, b"2"]
    assert primary_client.get("over-tls") == b"yes"
    assert primary_client.get("tls-counter") == b"2"
    assert primary_client.pfcount("tls-hll") == 2


def _check_served_locally(proxy: ProxiedUnderstudy) -> None:
    """Clients get answers from the local store while the link is down."""
    before = info_understudy(proxy)
    with redis.Redis(host=HOST, port=proxy.port, socket_timeout=5) as r:
        assert r.set("local-key", "here") is True
        assert r.get("local-key") == b"here"
        assert r.incr("local-counter") == 1
    after = info_understudy(proxy)
    assert int(after["requests_local"]) >= int(before["requests_local"]) + 3, after
    assert after["requests_proxied"] == before["requests_proxied"], after


def test_tls_primary_serves_proxied_commands(certs):
    primary = _start_tls_primary(certs, auth_clients=False)
    proxy = None
    try:
        assert _plain_tcp_refused_or_closed(primary.port)
        proxy = _start_proxy(primary.port, [
            "--primary-tls", "yes", "--primary-tls-ca-cert-file", str(certs.ca_crt)])
        fields = wait_state(proxy, "healthy")
        assert fields["primary_address"] == f"{HOST}:{primary.port}"
        with primary.redis_py() as direct:
            _check_proxied_writes(proxy, direct)
            # The shared connections and the probe are TLS clients of the primary.
            clients = direct.client_list()
            assert any(c.get("name") == "understudy" for c in clients), clients
        assert info_understudy(proxy)["primary_transitions"] == fields["primary_transitions"]
    finally:
        if proxy is not None:
            proxy.cleanup()
        primary.cleanup()


def test_tls_primary_with_the_wrong_ca_is_not_trusted(certs):
    primary = _start_tls_primary(certs, auth_clients=False)
    proxy = None
    try:
        proxy = _start_proxy(primary.port, [
            "--primary-tls", "yes", "--primary-tls-ca-cert-file", str(certs.wrong_ca_crt)])
        fields = stays_not_healthy(proxy, NOT_HEALTHY_WATCH_S)
        failure = fields["primary_last_failure"].lower()
        assert "tls" in failure, fields
        _check_served_locally(proxy)
        with primary.redis_py() as direct:
            assert direct.dbsize() == 0
            # No connection of understudy got past the handshake.
            assert not any(c.get("name") == "understudy" for c in direct.client_list())
    finally:
        if proxy is not None:
            proxy.cleanup()
        primary.cleanup()


def test_tls_primary_verifies_the_server_name(certs):
    """The certificate names 127.0.0.1 and localhost, not another name."""
    primary = _start_tls_primary(certs, auth_clients=False)
    proxy = None
    try:
        proxy = _start_proxy(primary.port, [
            "--primary-tls", "yes", "--primary-tls-ca-cert-file", str(certs.ca_crt),
            "--primary-tls-server-name", "not-the-primary.example"])
        fields = stays_not_healthy(proxy, NOT_HEALTHY_WATCH_S)
        assert "tls" in fields["primary_last_failure"].lower(), fields
        proxy.cleanup()
        proxy = _start_proxy(primary.port, [
            "--primary-tls", "yes", "--primary-tls-ca-cert-file", str(certs.ca_crt),
            "--primary-tls-server-name", "localhost"])
        wait_state(proxy, "healthy")
    finally:
        if proxy is not None:
            proxy.cleanup()
        primary.cleanup()


def test_tls_primary_requiring_client_certificates(certs):
    primary = _start_tls_primary(certs, auth_clients=True)
    proxy = None
    try:
        # Without a client certificate the primary refuses the handshake.
        proxy = _start_proxy(primary.port, [
            "--primary-tls", "yes", "--primary-tls-ca-cert-file", str(certs.ca_crt)])
        fields = stays_not_healthy(proxy, NOT_HEALTHY_WATCH_S)
        assert fields["primary_last_failure"], fields
        _check_served_locally(proxy)
        proxy.cleanup()
        # With one signed by the CA it works.
        proxy = _start_proxy(primary.port, [
            "--primary-tls", "yes", "--primary-tls-ca-cert-file", str(certs.ca_crt),
            "--primary-tls-cert-file", str(certs.client_crt),
            "--primary-tls-key-file", str(certs.client_key)])
        wait_state(proxy, "healthy")
        with primary.redis_py() as direct:
            direct.flushall()
            _check_proxied_writes(proxy, direct)
    finally:
        if proxy is not None:
            proxy.cleanup()
        primary.cleanup()


# ------------------------------------------------------------------ credentials

PRIMARY_PASSWORD = "default-pw-7f3a9c"
ACL_USER = "understudy-app"
ACL_PASSWORD = "acl-pw-51e0d2b8"
WRONG_PASSWORD = "wrong-pw-c0ffee42"


@pytest.fixture(scope="module")
def protected_primary():
    """redis-server with a requirepass and an ACL user allowed everything."""
    primary = RedisServer(["--requirepass", PRIMARY_PASSWORD,
                           "--user", ACL_USER, "on", f">{ACL_PASSWORD}", "~*", "&*", "+@all"],
                          password=PRIMARY_PASSWORD)
    primary.label = "redis-protected-primary"
    primary.start()
    try:
        yield primary
    finally:
        primary.cleanup()


def _direct(primary: RedisServer) -> redis.Redis:
    return redis.Redis(host=HOST, port=primary.port, password=PRIMARY_PASSWORD, socket_timeout=5)


def _log_without_command_lines(server) -> str:
    """understudy's own output: the harness's "$ argv" lines are left out."""
    text = server.log_path.read_text(errors="replace")
    return "\n".join(line for line in text.splitlines() if not line.startswith("$ "))


def test_primary_password_of_the_default_user(protected_primary):
    proxy = _start_proxy(protected_primary.port, ["--primary-password", PRIMARY_PASSWORD])
    try:
        wait_state(proxy, "healthy")
        with _direct(protected_primary) as direct:
            direct.flushall()
            _check_proxied_writes(proxy, direct)
            users = {c.get("user") for c in direct.client_list() if c.get("name") == "understudy"}
            assert users == {"default"}, direct.client_list()
        # Clients authenticate with understudy, not with the primary: a
        # client without AUTH is served (understudy has no requirepass).
        with RespClient(HOST, proxy.port) as conn:
            assert conn.command("GET", "over-tls") == b"$3\r\nyes\r\n"
        assert PRIMARY_PASSWORD not in _log_without_command_lines(proxy)
    finally:
        proxy.cleanup()


def test_primary_user_and_password_of_an_acl_user(protected_primary):
    proxy = _start_proxy(protected_primary.port,
                         ["--primary-user", ACL_USER, "--primary-password", ACL_PASSWORD])
    try:
        wait_state(proxy, "healthy")
        with _direct(protected_primary) as direct:
            direct.flushall()
            _check_proxied_writes(proxy, direct)
            users = {c.get("user") for c in direct.client_list() if c.get("name") == "understudy"}
            assert users == {ACL_USER}, direct.client_list()
        assert ACL_PASSWORD not in _log_without_command_lines(proxy)
    finally:
        proxy.cleanup()


@pytest.mark.parametrize("user", [None, ACL_USER])
def test_wrong_primary_password_leaves_the_link_down_and_is_never_logged(protected_primary, user):
    # The most verbose log level: whatever understudy logs, never the password.
    args = ["--primary-password", WRONG_PASSWORD, "--loglevel", "debug"]
    if user:
        args += ["--primary-user", user]
    proxy = _start_proxy(protected_primary.port, args)
    try:
        fields = stays_not_healthy(proxy, NOT_HEALTHY_WATCH_S)
        assert fields["primary_last_failure"], fields
        assert WRONG_PASSWORD not in fields["primary_last_failure"]
        _check_served_locally(proxy)
        with _direct(protected_primary) as direct:
            assert direct.get("local-key") is None
        # Also not through INFO's text as a whole.
        with RespClient(HOST, proxy.port) as conn:
            assert WRONG_PASSWORD.encode() not in conn.command("INFO", "everything")
        log = _log_without_command_lines(proxy)
        assert log.strip(), "understudy logged nothing at all"
        assert WRONG_PASSWORD not in log, log
    finally:
        proxy.cleanup()


def test_password_changed_on_the_primary_takes_the_link_down_and_back(protected_primary):
    """The primary stops accepting understudy's password (ACL SETUSER, then
    its connections are killed): the link goes down, is logged without the
    password, clients are served locally; the old password back -> healthy."""
    proxy = _start_proxy(protected_primary.port,
                         ["--primary-user", ACL_USER, "--primary-password", ACL_PASSWORD,
                          "--loglevel", "debug"])
    try:
        healthy = wait_state(proxy, "healthy")
        with _direct(protected_primary) as direct:
            try:
                direct.execute_command("ACL", "SETUSER", ACL_USER, "resetpass", ">changed-pw-9d1e")
                direct.execute_command("CLIENT", "KILL", "USER", ACL_USER)
                # Shared connections open on first use: a request finds out
                # (and is answered anyway, from the local store).
                with redis.Redis(host=HOST, port=proxy.port, socket_timeout=5) as r:
                    assert r.set("during-change", "1") is True
                fields = wait_state(proxy, "down")
                assert int(fields["primary_transitions"]) > int(healthy["primary_transitions"])
                stays_not_healthy(proxy, 0.5)
                _check_served_locally(proxy)
            finally:
                direct.execute_command("ACL", "SETUSER", ACL_USER, "resetpass", f">{ACL_PASSWORD}")
            wait_state(proxy, "healthy")
            with redis.Redis(host=HOST, port=proxy.port, socket_timeout=5) as r:
                assert r.set("after-recovery", "1") is True
            assert direct.get("after-recovery") == b"1"
        log = _log_without_command_lines(proxy)
        assert "WRONGPASS" in log, log  # the failure is logged, with its reason
        assert ACL_PASSWORD not in log and "changed-pw-9d1e" not in log, log
    finally:
        proxy.cleanup()


def test_missing_primary_password_leaves_the_link_down(protected_primary):
    proxy = _start_proxy(protected_primary.port, [])
    try:
        fields = stays_not_healthy(proxy, NOT_HEALTHY_WATCH_S)
        assert fields["primary_last_failure"], fields
        _check_served_locally(proxy)
    finally:
        proxy.cleanup()
