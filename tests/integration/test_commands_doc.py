"""docs/commands.md lists exactly the commands of the command table."""

from __future__ import annotations

import pathlib
import subprocess

from support.servers import understudy_binary

REPO = pathlib.Path(__file__).resolve().parents[2]


def test_commands_doc_matches_the_command_table():
    result = subprocess.run(
        ["/usr/bin/python3", str(REPO / "scripts" / "commands-doc.py"), "--check", "--binary",
         str(understudy_binary())],
        capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr + result.stdout
