"""Key classes and the primary-link directives, through the real binary.

A config file with `class` and `primary-*` lines must start the daemon and
show up in CONFIG GET in canonical form; CONFIG REWRITE must write one line
per class and keep the comments; a bad class line or a broken combination of
primary directives must stop the start with exit code 1 and name the line.
"""

from __future__ import annotations

import pathlib
import shutil
import subprocess
import tempfile

import pytest
import redis

from support.servers import Understudy, free_port, understudy_binary

CANONICAL_DEFAULTS = ("mirror no merge lww outage serve max-staleness 0 conflict local "
                      "near-cache no evict yes")


@pytest.fixture
def workdir():
    path = pathlib.Path(tempfile.mkdtemp(prefix="understudy-classes-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def start_with_config(conf: pathlib.Path) -> Understudy:
    server = Understudy()
    # The file comes first on the command line, as with redis-server.
    server.command_line = lambda port: [str(server.binary), str(conf), "--port", str(port)]
    return server.start()


def run_expecting_failure(*args: str) -> subprocess.CompletedProcess:
    result = subprocess.run([str(understudy_binary()), *args], capture_output=True, text=True,
                            timeout=10, check=False)
    assert result.returncode == 1, (result.returncode, result.stdout, result.stderr)
    assert "FATAL CONFIG FILE ERROR" in result.stderr, result.stderr
    return result


def test_classes_and_primary_link_show_in_config_get_and_survive_rewrite(workdir):
    dead_port = free_port()  # nothing listens there: the primary is down
    conf = workdir / "understudy.conf"
    conf.write_text(
        "# revoked tokens: never lose one\n"
        "class tokens blacklist:* mirror yes merge union evict no\n"
        "# sessions\n"
        "class sessions session:* Mirror YES near-cache yes max-staleness 30000\n"
        "class limits 'rate limit:*' merge counter outage reject\n"
        f"primary 127.0.0.1 {dead_port}\n"
        "primary-user proxy\n"
        "primary-password \"pass word\"\n"
        "primary-timeout 150\n"
        "primary-probe-interval 50\n"
        "primary-probe-max-interval 1000\n"
        "primary-connections 3\n"
        "primary-pinned-max 10\n"
        "primary-tls-server-name redis.internal\n"
    )
    expected_classes = "\n".join([
        "tokens blacklist:* mirror yes merge union outage serve max-staleness 0 conflict local "
        "near-cache no evict no",
        "sessions session:* mirror yes merge lww outage serve max-staleness 30000 conflict local "
        "near-cache yes evict yes",
        "limits \"rate limit:*\" mirror no merge counter outage reject max-staleness 0 conflict "
        "local near-cache no evict yes",
    ])
    server = start_with_config(conf)
    try:
        client = redis.Redis(host=server.host, port=server.port, decode_responses=True,
                             socket_timeout=5)
        assert client.config_get("class") == {"class": expected_classes}
        primary = client.config_get("primary*")
        assert primary["primary"] == f"127.0.0.1 {dead_port}"
        assert primary["primary-user"] == "proxy"
        assert primary["primary-password"] == "pass word"
        assert primary["primary-timeout"] == "150"
        assert primary["primary-probe-interval"] == "50"
        assert primary["primary-probe-max-interval"] == "1000"
        assert primary["primary-connections"] == "3"
        assert primary["primary-pinned-max"] == "10"
        assert primary["primary-tls"] == "no"
        assert primary["primary-tls-server-name"] == "redis.internal"
        assert primary["primary-sentinel"] == ""
        assert primary["primary-name"] == ""
        with pytest.raises(redis.ResponseError, match="can't set immutable config"):
            client.config_set("class", "x x:*")
        with pytest.raises(redis.ResponseError, match="can't set immutable config"):
            client.config_set("primary-timeout", "300")

        assert client.config_rewrite() in (True, "OK")
        lines = conf.read_text().splitlines()
        assert lines[0] == "# revoked tokens: never lose one"
        assert lines[1] == "class " + expected_classes.split("\n")[0]
        assert lines[2] == "# sessions"
        assert lines[3:5] == ["class " + line for line in expected_classes.split("\n")[1:]]
        assert sum(line.startswith("class ") for line in lines) == 3
        client.close()
        # The rewritten file starts the daemon with the same configuration
        # (it names the first daemon's working directory: keep that around).
        server.stop()
        again = start_with_config(conf)
        try:
            client = redis.Redis(host=again.host, port=again.port, decode_responses=True,
                                 socket_timeout=5)
            assert client.config_get("class") == {"class": expected_classes}
            assert client.config_get("primary") == {"primary": f"127.0.0.1 {dead_port}"}
            assert client.config_get("primary-password") == {"primary-password": "pass word"}
            client.close()
        finally:
            again.cleanup()
    finally:
        server.cleanup()


def test_standalone_default_has_no_classes_or_primary():
    server = Understudy().start()
    try:
        client = redis.Redis(host=server.host, port=server.port, decode_responses=True,
                             socket_timeout=5)
        assert client.config_get("class") == {"class": ""}
        assert client.config_get("primary") == {"primary": ""}
        assert client.config_get("primary-timeout") == {"primary-timeout": "200"}
        client.close()
    finally:
        server.cleanup()


def test_classes_from_the_command_line():
    server = Understudy(["--class", "s", "s:*", "outage", "reject",
                         "--class", "default", "*", "mirror", "yes"]).start()
    try:
        client = redis.Redis(host=server.host, port=server.port, decode_responses=True,
                             socket_timeout=5)
        assert client.config_get("class")["class"] == (
            "s s:* mirror no merge lww outage reject max-staleness 0 conflict local near-cache no "
            "evict yes\n"
            f"default * mirror yes {CANONICAL_DEFAULTS.removeprefix('mirror no ')}")
        client.close()
    finally:
        server.cleanup()


def test_bad_class_line_fails_start_naming_the_line(workdir):
    conf = workdir / "bad.conf"
    conf.write_text("port 0\n# classes\nclass sessions session:* merge newest\n")
    result = run_expecting_failure(str(conf))
    assert "at line 3" in result.stderr
    assert ">>> 'class sessions session:* merge newest'" in result.stderr
    assert ("class 'sessions': bad value 'newest' for merge (expected union, lww or counter)"
            in result.stderr)


@pytest.mark.parametrize("lines, line_number, reason", [
    (["class a a:*", "class a b:*"], 2, "class 'a' is defined twice"),
    (["class s s:* near-cache yes"], 1, "near-cache yes needs mirror yes"),
    (["class c c:* merge counter conflict primary"], 1,
     "conflict primary applies only to merge lww"),
    (["class s s:* colour red"], 1, "unknown attribute 'colour'"),
    (["class all *", "class late late:*"], 2, "class 'late' can never match"),
])
def test_class_errors_fail_start(workdir, lines, line_number, reason):
    conf = workdir / "bad.conf"
    conf.write_text("\n".join(lines) + "\n")
    result = run_expecting_failure(str(conf))
    assert f"at line {line_number}\n>>> '{lines[line_number - 1]}'" in result.stderr, result.stderr
    assert reason in result.stderr


def test_primary_rules_fail_start_naming_the_last_line(workdir):
    conf = workdir / "sentinel.conf"
    conf.write_text("primary-sentinel 127.0.0.1 26379\nport 0\n")
    result = run_expecting_failure(str(conf))
    assert "at line 1\n>>> 'primary-sentinel 127.0.0.1 26379'" in result.stderr
    assert "primary-sentinel needs primary-name" in result.stderr

    conf.write_text("primary 127.0.0.1 6379\nprimary-name m\nprimary-sentinel 127.0.0.1 26379\n")
    result = run_expecting_failure(str(conf))
    assert "at line 3" in result.stderr
    assert "primary and primary-sentinel exclude each other" in result.stderr

    result = run_expecting_failure("--primary", "127.0.0.1")
    assert "primary needs HOST PORT" in result.stderr
