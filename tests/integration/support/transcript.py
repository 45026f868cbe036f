"""Prints what a server replies to each case step, for writing and reviewing cases.

Usage (from the repository root):
  /usr/bin/python3 tests/integration/support/transcript.py [--resp3]
      [--target understudy] CASEFILE [CASEFILE ...]

Starts a throwaway redis-server (or understudy with --target understudy),
runs each case as the differential test would (FLUSHALL first, fresh
connections) and prints every step with its raw reply.
"""

from __future__ import annotations

import argparse
import pathlib
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from support.cases import parse_file  # noqa: E402
from support.pair import AdminLink  # noqa: E402
from support.resp import parse_reply  # noqa: E402
from support.runner import Side  # noqa: E402
from support.servers import RedisServer, Understudy  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", type=pathlib.Path)
    parser.add_argument("--resp3", action="store_true", help="run the RESP3 variant")
    parser.add_argument("--target", choices=("redis", "understudy"), default="redis")
    options = parser.parse_args()
    variant = "resp3" if options.resp3 else "resp2"
    for path in options.files:
        case_file = parse_file(path)
        password = case_file.password
        server_class = RedisServer if options.target == "redis" else Understudy
        server = server_class(list(case_file.server_args), password).start()
        try:
            admin = AdminLink(server)
            for case in case_file.cases:
                if variant not in case.variants:
                    continue
                admin.command("FLUSHALL")
                saved = []
                for param in case.config_params():
                    node = parse_reply(admin.command("CONFIG", "GET", param))
                    if node.children and len(node.children) == 2:
                        saved.append((param, node.children[1].value))
                print(f"=== {case.case_id} [{variant}]")
                side = Side(server, variant)
                try:
                    for step in case.steps:
                        if step.action in ("sleep", "resp2", "resp3"):
                            if step.action == "sleep":
                                time.sleep(int(step.args[0]) / 1000.0)
                            print(f"{step.line:4d}| {step.text}")
                            continue
                        outcome = side.perform(step)
                        print(f"{step.line:4d}| {step.text}\n        -> {outcome.describe()}")
                finally:
                    side.close_all()
                for param, value in saved:
                    admin.command("CONFIG", "SET", param, value)
            admin.close()
        finally:
            server.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
