"""The daemon as a process: configuration sources, start-up errors, signals."""

from __future__ import annotations

import pathlib
import signal
import socket
import subprocess
import tempfile
import time

import pytest

from support.resp import RespClient
from support.servers import Understudy, understudy_binary


def test_config_file_then_command_line_overrides():
    workdir = pathlib.Path(tempfile.mkdtemp(prefix="understudy-conf-"))
    conf = workdir / "understudy.conf"
    conf.write_text("# a comment\nmaxclients 77\ntimeout 5\ndatabases 4\n")
    server = Understudy()
    # The file must come first on the command line, like redis-server.
    server.command_line = lambda port: [str(server.binary), str(conf), "--port", str(port),
                                        "--timeout", "9"]
    server.start()
    try:
        with server.client() as c:
            assert c.command("CONFIG", "GET", "maxclients") == b"*2\r\n$10\r\nmaxclients\r\n$2\r\n77\r\n"
            assert c.command("CONFIG", "GET", "timeout") == b"*2\r\n$7\r\ntimeout\r\n$1\r\n9\r\n"
            assert c.command("SELECT", "3") == b"+OK\r\n"
            assert c.command("SELECT", "4") == b"-ERR DB index is out of range\r\n"
    finally:
        server.cleanup()


def test_bad_config_line_fails_start_with_redis_style_message():
    workdir = pathlib.Path(tempfile.mkdtemp(prefix="understudy-conf-"))
    conf = workdir / "bad.conf"
    conf.write_text("port 6399\nmaxclients lots\n")
    result = subprocess.run([str(understudy_binary()), str(conf)], capture_output=True, text=True,
                            timeout=10, check=False)
    assert result.returncode != 0
    assert "FATAL CONFIG FILE ERROR" in result.stderr
    assert "line 2" in result.stderr and "maxclients lots" in result.stderr


def test_unknown_directive_on_command_line_fails_start():
    result = subprocess.run([str(understudy_binary()), "--no-such-directive", "1"],
                            capture_output=True, text=True, timeout=10, check=False)
    assert result.returncode != 0
    assert "Bad directive" in result.stderr


def test_port_in_use_fails_start():
    blocker = Understudy().start()
    try:
        result = subprocess.run([str(understudy_binary()), "--port", str(blocker.port)],
                                capture_output=True, text=True, timeout=10, check=False)
        assert result.returncode != 0
        assert str(blocker.port) in result.stderr + result.stdout
    finally:
        blocker.cleanup()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_shuts_down_cleanly(sig):
    server = Understudy().start()
    try:
        with server.client() as c:
            assert c.command("SET", "k", "v") == b"+OK\r\n"
        process = server.process
        process.send_signal(sig)
        assert process.wait(timeout=10) == 0
        assert "ready to exit" in server.log_tail()
    finally:
        server.cleanup()


def test_requirepass_demands_auth():
    server = Understudy(["--requirepass", "s3cret"], password=None).start()
    try:
        c = RespClient("127.0.0.1", server.port)
        assert c.command("GET", "k") == b"-NOAUTH Authentication required.\r\n"
        assert c.command("AUTH", "wrong") == (
            b"-WRONGPASS invalid username-password pair or user is disabled.\r\n")
        assert c.command("AUTH", "s3cret") == b"+OK\r\n"
        assert c.command("GET", "k") == b"$-1\r\n"
        c.close()
    finally:
        server.cleanup()


def test_default_binds_loopback_port_6380_only():
    # The embedded default: standalone on 127.0.0.1:6380. Skip if 6380 is taken
    # by something else on this machine rather than fail on an unrelated cause.
    probe = socket.socket()
    try:
        probe.bind(("127.0.0.1", 6380))
    except OSError:
        pytest.skip("port 6380 is in use on this machine")
    finally:
        probe.close()
    process = subprocess.Popen([str(understudy_binary())], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                s = socket.create_connection(("127.0.0.1", 6380), timeout=1)
                break
            except OSError:
                assert time.monotonic() < deadline, "default daemon did not listen on 6380"
                time.sleep(0.05)
        s.sendall(b"PING\r\n")
        assert s.recv(100) == b"+PONG\r\n"
        s.close()
        with open(f"/proc/{process.pid}/net/tcp") as tcp:
            listening = [line.split()[1] for line in tcp.readlines()[1:] if line.split()[3] == "0A"]
        # 0100007F:18EC is 127.0.0.1:6380 in /proc's hex notation.
        assert "0100007F:18EC" in listening
        assert not any(addr.endswith(":18EC") and addr != "0100007F:18EC" for addr in listening)
    finally:
        process.terminate()
        process.wait(timeout=10)
