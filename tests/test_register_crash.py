"""A process killed (SIGKILL) in the middle of a register transaction leaves it consistent.

The register's code has named crash points between the statements of its transactions
(:func:`allocator.register.db.crash_point`), inert unless ``PDPS_REGISTER_CRASH_AT`` names
one. Each test runs the action in a child process that kills itself at one point, then checks
that nothing of the transaction is left, the invariants hold, the audit chain is intact, and
the same action then succeeds (so no lock was left behind).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from register_support import (
    CSC,
    PLACEMENTS,
    new_register,
    register_url_fixture,  # noqa: F401  (the register_url fixture)
    small_result,
)
from sqlalchemy import func, select

from allocator.register.db import CRASH_ENV, open_engine, reading
from allocator.register.decisions import approve, end_placement
from allocator.register.schema import approvals, audit_log, placements, proposals, runs, units
from allocator.register.state import check_invariants
from allocator.register.store import record_run

TESTS = Path(__file__).resolve().parent
DAY = "2026-11-26"

#: What the child process runs for each crash point: the action, in Python.
ACTIONS = {
    "record_run:after-proposals":
        "from allocator.register.store import record_run\n"
        "from register_support import small_result\n"
        "record_run(URL, small_result())",
    "decide:after-approval":
        "from allocator.register.decisions import approve\n"
        f"approve(URL, 2, {CSC!r}, 'executive_director_csc', note='n', on=date({DAY!r}))",
    "start:after-vacancy":
        "from allocator.register.decisions import approve\n"
        f"approve(URL, 2, {CSC!r}, 'executive_director_csc', on=date({DAY!r}))",
    "end:after-placement":
        "from allocator.register.decisions import end_placement\n"
        f"end_placement(URL, 1, {PLACEMENTS!r}, on=date('2026-12-01'))",
}


def killed_at(point: str, url: str) -> subprocess.CompletedProcess[str]:
    code = (f"import sys\nsys.path.insert(0, {str(TESTS)!r})\n"
            "from datetime import date as _d\ndate = _d.fromisoformat\n"
            f"URL = {url!r}\n{ACTIONS[point]}\n")
    env = dict(os.environ, **{CRASH_ENV: point})
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=300)


def snapshot(url: str) -> dict[str, object]:
    engine = open_engine(url)
    with reading(engine) as conn:
        return {
            "runs": conn.execute(select(func.count()).select_from(runs)).scalar_one(),
            "proposals": conn.execute(select(proposals.c.id, proposals.c.status)
                                      .order_by(proposals.c.id)).all(),
            "approvals": conn.execute(select(func.count()).select_from(approvals)).scalar_one(),
            "placements": conn.execute(select(placements.c.id, placements.c.status)
                                       .order_by(placements.c.id)).all(),
            "vacancies": conn.execute(select(units.c.unit_id, units.c.vacancies)
                                      .order_by(units.c.unit_id)).all(),
            "audit": conn.execute(select(func.count()).select_from(audit_log)).scalar_one(),
            "problems": check_invariants(conn),
        }


@pytest.mark.parametrize("point", list(ACTIONS))
def test_kill_mid_transaction_leaves_register_consistent(register_url: str,
                                                         point: str) -> None:
    from datetime import date

    if point == "record_run:after-proposals":
        new_register(register_url)  # tables and scheme, no run yet
    else:
        new_register(register_url, small_result())
        if point == "end:after-placement":
            approve(register_url, 1, PLACEMENTS, "placement_officer", on=date(2026, 11, 26))
    before = snapshot(register_url)
    assert before["problems"] == []

    done = killed_at(point, register_url)
    assert done.returncode == -signal.SIGKILL, done.stderr[-2000:]

    after = snapshot(register_url)
    assert after == before  # nothing of the killed transaction is left
    # ...and nothing is stuck: the same action now goes through, consistently.
    if point == "record_run:after-proposals":
        record_run(register_url, small_result())
    elif point == "end:after-placement":
        end_placement(register_url, 1, PLACEMENTS, on=date(2026, 12, 1))
    else:
        assert approve(register_url, 2, CSC, "executive_director_csc",
                       on=date(2026, 11, 26)).status == "placed"
    final = snapshot(register_url)
    assert final["problems"] == []
    assert final["audit"] > before["audit"]
