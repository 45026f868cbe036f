"""Differential test: every case file step, reference redis vs the target.

Each case in diff/cases/*.txt becomes two tests (RESP2 and RESP3), named
`<file>:<line>-<variant>`. A case runs on fresh connections after FLUSHALL;
in the RESP3 variant every connection first sends HELLO 3.
"""

from __future__ import annotations

import dataclasses
import os
import pathlib

import pytest

from support.cases import Case, CaseFile, load_all
from support.runner import run_case

CASES_DIR = pathlib.Path(__file__).resolve().parent / "cases"
INCLUDE_SKIPPED = os.environ.get("DIFF_INCLUDE_LATER") == "1"


@dataclasses.dataclass(frozen=True)
class DiffCase:
    case_file: CaseFile
    case: Case
    variant: str


def _params():
    params = []
    for case_file in load_all(CASES_DIR):
        marks = []
        if case_file.skip_reason and not INCLUDE_SKIPPED:
            marks.append(pytest.mark.skip(reason=case_file.skip_reason))
        for case in case_file.cases:
            for variant in case.variants:
                params.append(pytest.param(
                    DiffCase(case_file, case, variant),
                    id=f"{case.case_id}-{variant}", marks=marks))
    return params


@pytest.mark.parametrize("diff_case", _params())
def test_case(diff_case: DiffCase, diff_servers):
    result = run_case(diff_case.case, diff_case.variant, diff_servers.ref, diff_servers.target)
    dead = [s.label for s in diff_servers.servers if not s.is_alive()]
    report = result.report()
    if dead:
        logs = "\n".join(s.log_tail() for s in diff_servers.servers if not s.is_alive())
        pytest.fail(f"{', '.join(dead)} died during the case\n{report}\n{logs}", pytrace=False)
    if result.setup_error:
        pytest.fail(report, pytrace=False)
    bad_reference = result.reference_problems
    if bad_reference:
        pytest.fail("the reference redis-server did not behave as the case assumes "
                    "(fix the case)\n" + report, pytrace=False)
    if result.failures:
        pytest.fail(report, pytrace=False)
