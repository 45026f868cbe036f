"""Logs (issue 8, docs/operations.md "Logs"): a primary outage of any length
yields a bounded number of log lines, secrets never reach the log at any
level in either format, and `log-format json` writes one JSON object per
line.

A real redis-server primary with a password and real understudy processes,
each in its own working directory, logging to a `logfile` there so that the
harness's own "$ command line" (which holds the passwords) is not mistaken
for a log line. Every process is ended by PID.
"""

from __future__ import annotations

import json
import subprocess
import threading
import time

import pytest
import redis

from support.primary import Primary, wait_until
from support.proxied import ProxiedUnderstudy, info_understudy, wait_state
from support.resp import RespClient
from support.servers import HOST, Understudy, understudy_binary

PRIMARY_PASSWORD = "primary-Secret-7f3a9c"
CLIENT_PASSWORD = "client-Secret-41d2e8"
NEW_CLIENT_PASSWORD = "rotated-Secret-9b0c77"
WRONG_PASSWORD = "wrong-Secret-c0ffee"
SECRETS = [PRIMARY_PASSWORD, CLIENT_PASSWORD, NEW_CLIENT_PASSWORD, WRONG_PASSWORD]

CLASSES = [
    "--class", "session", "sess:*", "mirror", "yes", "merge", "lww",
    "--class", "rate", "rl:*", "merge", "counter",
    # Probes at most every 200 ms: a 30 s outage makes ~150 failed probes
    # (and as many mirror reconnects), so logging each would break the bound.
    "--primary-probe-interval", "50", "--primary-probe-max-interval", "200",
]

OUTAGE_S = 30
# Lines for the whole run (startup, a 30 s outage, recovery, shutdown) at
# loglevel debug. Each event logs a fixed number of lines: startup and
# listeners (~5), the transitions healthy -> down -> recovering -> healthy
# (3), the first probe failure and the mirror's first failure (2), their
# repeat summaries (at most one per minute each, plus one when the primary
# answers again: 4), the snapshot at the start of the outage (1),
# reconciliation (~4), the mirror reload (1), shutdown (2), plus the
# secrets exercise (none expected). 60 leaves room for a few more events
# while staying far below the ~300 lines that one line per failed probe or
# reconnect would give.
MAX_LINES = 60


def log_lines(daemon: ProxiedUnderstudy) -> list[str]:
    """Every line the daemon wrote: its logfile, plus anything it wrote to
    stdout/stderr after the harness's "$ command line" header."""
    lines = (daemon.workdir / "daemon.log").read_text("utf-8").splitlines()
    captured = daemon.log_path.read_text("utf-8").splitlines()
    lines += [line for line in captured if not line.startswith("$ ")]
    return [line for line in lines if line.strip()]


def start_daemon(primary: Primary, log_format: str, extra: list[str] | None = None,
                 primary_password: str = PRIMARY_PASSWORD) -> ProxiedUnderstudy:
    daemon = ProxiedUnderstudy(primary.port, [
        *CLASSES,
        "--primary-password", primary_password,
        "--requirepass", CLIENT_PASSWORD,
        "--loglevel", "debug",
        "--log-format", log_format,
        "--logfile", "daemon.log",
        *(extra or []),
    ], password=CLIENT_PASSWORD)
    daemon.start()
    return daemon


def exercise_secrets(port: int) -> None:
    """Every way a client hands understudy a password: AUTH (right and
    wrong, one and two arguments), HELLO AUTH, CONFIG SET requirepass, and a
    command carrying a password as an ordinary argument."""
    plain = redis.Redis(host=HOST, port=port, socket_timeout=5)
    with pytest.raises((redis.exceptions.ResponseError, redis.AuthenticationError)):
        plain.execute_command("AUTH", WRONG_PASSWORD)
    with pytest.raises(redis.exceptions.ResponseError):
        plain.execute_command("AUTH", "default", WRONG_PASSWORD)
    # HELLO answers in RESP3, which this redis-py does not read: raw bytes.
    with RespClient(HOST, port, timeout=5) as raw:
        assert raw.command("HELLO", "3", "AUTH", "default", WRONG_PASSWORD).startswith(
            b"-WRONGPASS")
        assert raw.command("HELLO", "3", "AUTH", "default", CLIENT_PASSWORD).startswith(b"%")
    assert plain.execute_command("AUTH", CLIENT_PASSWORD) in (b"OK", True)
    assert plain.execute_command("CONFIG", "SET", "requirepass", NEW_CLIENT_PASSWORD) in (b"OK", True)
    other = redis.Redis(host=HOST, port=port, socket_timeout=5, password=NEW_CLIENT_PASSWORD)
    assert other.ping()
    # A wrong-arity AUTH and a malformed CONFIG SET: error paths too.
    with pytest.raises(redis.exceptions.ResponseError):
        other.execute_command("AUTH", "a", NEW_CLIENT_PASSWORD, WRONG_PASSWORD)
    with pytest.raises(redis.exceptions.ResponseError):
        other.execute_command("CONFIG", "SET", "requirepass", WRONG_PASSWORD, "maxclients", "x")
    other.set("sess:token", WRONG_PASSWORD)  # stored, not logged
    assert other.execute_command("CONFIG", "SET", "requirepass", CLIENT_PASSWORD) in (b"OK", True)
    plain.close()
    other.close()


def assert_no_secrets(lines: list[str]) -> None:
    for line in lines:
        for secret in SECRETS:
            assert secret not in line, f"a password reached the log: {line!r}"


def assert_json_lines(lines: list[str]) -> None:
    for line in lines:
        record = json.loads(line)
        assert set(record) == {"time", "level", "pid", "message"}, line
        assert isinstance(record["pid"], int)


def test_primary_down_for_30s_logs_a_bounded_number_of_lines():
    primary = Primary(["--requirepass", PRIMARY_PASSWORD], password=PRIMARY_PASSWORD)
    primary.start()
    daemon = None
    stop_load = threading.Event()
    load_errors: list[BaseException] = []
    try:
        daemon = start_daemon(primary, "json")
        wait_state(daemon, "healthy", 10.0)
        wait_until(lambda: info_understudy(daemon)["mirror_state"] == "live", 10.0,
                   what="mirror live")
        exercise_secrets(daemon.port)

        def load() -> None:
            # Clients keep working through the outage: requests must not log.
            r = redis.Redis(host=HOST, port=daemon.port, socket_timeout=5,
                            password=CLIENT_PASSWORD)
            i = 0
            try:
                while not stop_load.is_set():
                    r.set(f"sess:{i % 50}", i)
                    r.incr("rl:hits")
                    r.get("other:key")
                    i += 1
                    time.sleep(0.005)
            except BaseException as exc:  # noqa: BLE001 - reported by the test
                load_errors.append(exc)

        loader = threading.Thread(target=load, daemon=True)
        loader.start()
        primary.kill()
        time.sleep(OUTAGE_S)
        info = info_understudy(daemon)
        assert info["primary_state"] == "down", info
        exercise_secrets(daemon.port)
        primary.restart()
        wait_state(daemon, "healthy", 20.0)
        stop_load.set()
        loader.join(timeout=10)
        assert not load_errors, load_errors
        daemon.stop()  # SIGTERM; the log is complete once it exited
        lines = log_lines(daemon)
        print(f"\n{len(lines)} log lines for a {OUTAGE_S} s primary outage at loglevel debug "
              f"(bound {MAX_LINES}):")
        for line in lines:
            print("  " + line)
        assert_json_lines(lines)
        messages = [json.loads(line)["message"] for line in lines]
        # The outage was seen and the repeats were summarised, not listed.
        assert any("probe failed" in m for m in messages), messages
        assert sum("probe failed" in m and "repeated" not in m for m in messages) <= 2, messages
        assert any("repeated" in m and "times in the last" in m for m in messages), messages
        assert len(lines) <= MAX_LINES
        assert_no_secrets(lines)
    finally:
        stop_load.set()
        if daemon is not None:
            daemon.cleanup()
        primary.stop()
        primary.cleanup()


@pytest.mark.parametrize("log_format", ["human", "json"])
def test_no_password_in_any_log_line(log_format):
    primary = Primary(["--requirepass", PRIMARY_PASSWORD], password=PRIMARY_PASSWORD)
    primary.start()
    daemons = []
    try:
        daemon = start_daemon(primary, log_format)
        daemons.append(daemon)
        wait_state(daemon, "healthy", 10.0)
        exercise_secrets(daemon.port)
        primary.kill()
        # A request finds the primary gone (answered locally).
        redis.Redis(host=HOST, port=daemon.port, socket_timeout=5,
                    password=CLIENT_PASSWORD).set("sess:x", "1")
        wait_state(daemon, "down", 10.0)
        exercise_secrets(daemon.port)
        primary.restart()
        wait_state(daemon, "healthy", 20.0)
        # A daemon with the wrong primary password: the refusal is logged,
        # the password it tried is not.
        wrong = start_daemon(primary, log_format, primary_password=WRONG_PASSWORD)
        daemons.append(wrong)
        wait_until(lambda: "probe failed" in (wrong.workdir / "daemon.log").read_text(), 10.0,
                   what="the refused AUTH logged")
        for d in daemons:
            d.stop()
        for d in daemons:
            lines = log_lines(d)
            assert lines
            assert_no_secrets(lines)
            if log_format == "json":
                assert_json_lines(lines)
            else:
                assert not lines[0].startswith("{"), lines[0]
        assert any("WRONGPASS" in line or "auth" in line.lower() for line in log_lines(wrong))
    finally:
        for d in daemons:
            d.cleanup()
        primary.stop()
        primary.cleanup()


def test_config_file_error_does_not_print_the_password(tmp_path):
    conf = tmp_path / "bad.conf"
    conf.write_text(f"port 0\nrequirepass {CLIENT_PASSWORD} extra-{PRIMARY_PASSWORD}\n")
    result = subprocess.run([str(understudy_binary()), str(conf)], capture_output=True, text=True,
                            timeout=10, cwd=tmp_path)
    assert result.returncode == 1
    assert "requirepass (redacted)" in result.stderr, result.stderr
    assert_no_secrets(result.stdout.splitlines() + result.stderr.splitlines())


def test_log_format_can_be_switched_with_config_set():
    daemon = Understudy(["--logfile", "daemon.log", "--loglevel", "notice"])
    daemon.start()
    try:
        r = redis.Redis(host=HOST, port=daemon.port, socket_timeout=5)
        assert r.config_get("log-format") == {"log-format": "human"}
        with pytest.raises(redis.exceptions.ResponseError):
            r.config_set("log-format", "xml")
        assert r.config_set("log-format", "json")
        assert r.config_get("log-format") == {"log-format": "json"}
        # The daemon's exit line on SIGTERM comes after the switch.
        daemon.stop()
        lines = (daemon.workdir / "daemon.log").read_text().splitlines()
        human = [line for line in lines if not line.startswith("{")]
        json_lines = [line for line in lines if line.startswith("{")]
        assert human and json_lines, lines
        assert_json_lines(json_lines)
        assert any("bye" in json.loads(line)["message"] for line in json_lines), json_lines
    finally:
        daemon.cleanup()
