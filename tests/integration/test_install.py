"""Install (issue 8, docs/operations.md "Install"): `cmake --install` puts
the binary, the annotated config and the systemd unit where a distribution
would; the unit passes `systemd-analyze verify`; the config documents
every directive the daemon knows.

The build tree is the one holding UNDERSTUDY_BIN (the binary sits at its top).
"""

from __future__ import annotations

import pathlib
import re
import shutil
import subprocess

import pytest
import redis

from support.servers import HOST, Understudy, understudy_binary

REPO = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> pathlib.Path:
    build = understudy_binary().resolve().parent
    if not (build / "cmake_install.cmake").exists():
        pytest.fail(f"{build} is not a CMake build tree (UNDERSTUDY_BIN={understudy_binary()})")
    prefix = tmp_path_factory.mktemp("prefix")
    result = subprocess.run(["cmake", "--install", str(build), "--prefix", str(prefix)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    return prefix


def test_install_puts_binary_config_and_unit_in_place(installed):
    binary = installed / "bin" / "understudy"
    assert binary.is_file()
    version = subprocess.run([str(binary), "--version"], capture_output=True, text=True,
                             timeout=10)
    assert version.returncode == 0 and version.stdout.startswith("understudy v=")
    conf = installed / "etc" / "understudy" / "understudy.conf"
    assert conf.read_bytes() == (REPO / "deploy" / "understudy.conf").read_bytes()
    unit = (installed / "lib" / "systemd" / "system" / "understudy.service").read_text()
    for line in ["Type=notify", "WatchdogSec=", "NoNewPrivileges=yes", "ProtectSystem=strict",
                 "ProtectHome=yes", "PrivateTmp=yes", "ReadWritePaths=/var/lib/understudy"]:
        assert line in unit.splitlines() or any(l.startswith(line) for l in unit.splitlines()), line
    exec_start = next(l for l in unit.splitlines() if l.startswith("ExecStart="))
    # ExecStart names the installed binary and config (the configured prefix).
    assert re.match(r"ExecStart=/\S*/bin/understudy /\S*etc/understudy/understudy.conf ",
                    exec_start), exec_start


def test_unit_passes_systemd_analyze_verify(installed, tmp_path):
    tool = shutil.which("systemd-analyze")
    if tool is None:
        pytest.skip("systemd-analyze is not installed: the unit was not verified")
    unit = (installed / "lib" / "systemd" / "system" / "understudy.service").read_text()
    # Point ExecStart at the staged binary and config: verify checks that
    # the command exists and is executable.
    staged = re.sub(r"^ExecStart=\S+ \S+",
                    f"ExecStart={installed}/bin/understudy "
                    f"{installed}/etc/understudy/understudy.conf", unit, flags=re.M)
    path = tmp_path / "understudy.service"
    path.write_text(staged)
    result = subprocess.run([tool, "verify", str(path)], capture_output=True, text=True,
                            timeout=60)
    # Lines about other units on this machine are not ours to judge.
    ours = [l for l in (result.stdout + result.stderr).splitlines() if "understudy" in l]
    assert result.returncode == 0 and not ours, result.stdout + result.stderr


def test_every_directive_is_commented_in_the_default_config():
    daemon = Understudy()
    daemon.start()
    try:
        r = redis.Redis(host=HOST, port=daemon.port, socket_timeout=5)
        names = sorted(r.config_get("*"))
    finally:
        daemon.cleanup()
    lines = (REPO / "deploy" / "understudy.conf").read_text().splitlines()
    missing = []
    for name in names:
        # The directive, set or commented out, with a comment line above it
        # (blank-line separated blocks: the block must start with comments).
        found = False
        for i, line in enumerate(lines):
            if re.match(rf"^#?\s*{re.escape(name)}(\s|$)", line):
                j = i
                while j > 0 and lines[j - 1].strip():
                    j -= 1
                if lines[j].startswith("#") and j < i:
                    found = True
                    break
        if not found:
            missing.append(name)
    assert not missing, f"directives without a commented entry in deploy/understudy.conf: {missing}"


def test_sd_notify_ready_watchdog_and_stopping(tmp_path):
    """The daemon speaks systemd's notify protocol: a datagram socket named
    by $NOTIFY_SOCKET receives READY=1 once clients are admitted, WATCHDOG=1
    every half $WATCHDOG_USEC, and STOPPING=1 on SIGTERM."""
    import os
    import signal
    import socket

    from support.primary import wait_until
    from support.servers import free_port

    path = str(tmp_path / "notify.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(path)
    listener.settimeout(0.2)
    port = free_port()
    env = {**os.environ, "NOTIFY_SOCKET": path, "WATCHDOG_USEC": "400000"}
    process = subprocess.Popen([str(understudy_binary()), "--port", str(port)], cwd=tmp_path,
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    messages: list[str] = []

    def receive() -> None:
        try:
            messages.append(listener.recv(4096).decode())
        except socket.timeout:
            pass

    try:
        def seen(text: str) -> bool:
            receive()
            return any(text in m.splitlines() for m in messages)

        wait_until(lambda: seen("READY=1"), 10.0, what="READY=1")
        # A client is admitted by the time READY=1 is sent.
        assert redis.Redis(host=HOST, port=port, socket_timeout=5).ping()
        def watchdogs() -> int:
            receive()
            return sum("WATCHDOG=1" in m.splitlines() for m in messages)

        wait_until(lambda: watchdogs() >= 3, 10.0, what="three WATCHDOG=1")
        os.kill(process.pid, signal.SIGTERM)
        wait_until(lambda: seen("STOPPING=1"), 10.0, what="STOPPING=1")
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        listener.close()
    ready = next(m for m in messages if "READY=1" in m.splitlines())
    assert f"MAINPID={process.pid}" in ready.splitlines()
