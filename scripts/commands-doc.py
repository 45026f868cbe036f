#!/usr/bin/python3
"""Writes docs/commands.md from the daemon's own command table.

The table is the single source of truth for which commands exist (DESIGN.md:
"The table is the one source for COMMAND ..."), so the list of commands in
the docs is generated from COMMAND DOCS of a freshly started daemon rather
than kept by hand. tests/integration/test_commands_doc.py fails when the
checked-in file differs from what this script produces.

Usage: scripts/commands-doc.py [--check] [--binary build/understudy]
"""

from __future__ import annotations

import argparse
import pathlib
import socket
import subprocess
import sys
import time

REPO = pathlib.Path(__file__).resolve().parents[1]
DOC = REPO / "docs" / "commands.md"

GROUP_TITLES = [
    ("string", "Strings"),
    ("generic", "Keys and expiry"),
    ("hash", "Hashes"),
    ("list", "Lists"),
    ("set", "Sets"),
    ("sorted-set", "Sorted sets"),
    ("pubsub", "Pub/Sub"),
    ("transactions", "Transactions"),
    ("connection", "Connection"),
    ("server", "Server"),
]

HEADER = """# Commands

Every command understudy implements, generated from its command table by
`scripts/commands-doc.py` (a test fails when this file is out of date). Each
one follows Redis 7.0's semantics and reply bytes, errors included; the
differential suite in `tests/integration/diff` checks them against a real
redis-server 7.0.15. The few deliberate differences are in
[compatibility.md](compatibility.md).

A command not listed here gets Redis's `-ERR unknown command` reply.
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def read_reply(sock_file):
    line = sock_file.readline()
    if not line:
        raise ConnectionError("connection closed")
    kind, rest = line[:1], line[1:-2]
    if kind in (b"+", b"-", b":"):
        return rest.decode()
    if kind == b"$":
        n = int(rest)
        if n < 0:
            return None
        data = sock_file.read(n + 2)[:-2]
        return data.decode()
    if kind in (b"*", b"%"):
        n = int(rest) * (2 if kind == b"%" else 1)
        return [read_reply(sock_file) for _ in range(n)]
    raise ValueError(f"unexpected reply type {line!r}")


def command(sock, sock_file, *args: str):
    payload = f"*{len(args)}\r\n" + "".join(f"${len(a.encode())}\r\n{a}\r\n" for a in args)
    sock.sendall(payload.encode())
    return read_reply(sock_file)


def pairs(flat):
    return {flat[i]: flat[i + 1] for i in range(0, len(flat), 2)}


def fetch_docs(binary: pathlib.Path) -> dict:
    port = free_port()
    process = subprocess.Popen([str(binary), "--port", str(port)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                sock = socket.create_connection(("127.0.0.1", port), timeout=5)
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("understudy did not start")
                time.sleep(0.05)
        with sock, sock.makefile("rb") as sock_file:
            return pairs(command(sock, sock_file, "COMMAND", "DOCS"))
    finally:
        process.terminate()
        process.wait(timeout=10)


def render(docs: dict) -> str:
    by_group: dict[str, list[tuple[str, dict]]] = {}
    for name, fields in docs.items():
        info = pairs(fields)
        by_group.setdefault(info.get("group", "other"), []).append((name, info))
    known = [g for g, _ in GROUP_TITLES]
    titles = dict(GROUP_TITLES)
    out = [HEADER]
    for group in known + sorted(g for g in by_group if g not in known):
        if group not in by_group:
            continue
        out.append(f"\n## {titles.get(group, group.capitalize())}\n\n")
        out.append("| command | since | summary |\n|---|---|---|\n")
        for name, info in sorted(by_group[group]):
            out.append(f"| `{name.upper()}` | {info.get('since', '')} | {info.get('summary', '')} |\n")
            subs = info.get("subcommands")
            if subs:
                for sub_name, sub_fields in sorted(pairs(subs).items()):
                    sub = pairs(sub_fields)
                    label = sub_name.upper().replace("|", " ")
                    out.append(f"| `{label}` | {sub.get('since', '')} | {sub.get('summary', '')} |\n")
    return "".join(out)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--check", action="store_true", help="exit 1 if docs/commands.md is stale")
    parser.add_argument("--binary", default=str(REPO / "build" / "understudy"))
    args = parser.parse_args()
    text = render(fetch_docs(pathlib.Path(args.binary)))
    if args.check:
        if DOC.read_text() != text:
            print("docs/commands.md is out of date: run scripts/commands-doc.py", file=sys.stderr)
            return 1
        return 0
    DOC.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
