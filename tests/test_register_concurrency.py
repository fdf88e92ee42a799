"""Two processes acting at once never fill one place twice, nor lose a decision.

Each test starts two real processes (``spawn``: separate interpreters, separate connections)
that meet at a barrier and then act on the register at the same moment.
"""

from __future__ import annotations

import multiprocessing as mp

import pytest
from register_support import (
    CSC,
    NOMINATED,
    PLACEMENTS,
    new_register,
    race_worker,
    register_url_fixture,  # noqa: F401  (the register_url fixture)
    rival_result,
    small_result,
)
from sqlalchemy import func, select

from allocator.register.db import open_engine, reading
from allocator.register.schema import placements, proposals, units
from allocator.register.state import check_invariants
from allocator.register.store import record_run


def race(url: str, jobs: list[tuple[int, str, str]]) -> list[tuple[int, str]]:
    """Run ``approve`` for each (proposal, officer, role) in its own process, all at once."""
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(len(jobs))
    results = ctx.Queue()
    workers = [ctx.Process(target=race_worker, args=(url, *job, barrier, results))
               for job in jobs]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
        assert worker.exitcode == 0, f"worker failed with exit code {worker.exitcode}"
    return sorted(results.get(timeout=5) for _ in jobs)


def test_two_runs_race_for_the_last_place(register_url: str) -> None:
    first = new_register(register_url, small_result())
    second = record_run(register_url, rival_result())
    c1, c5 = first.proposals["C1"], second.proposals["C5"]
    engine = open_engine(register_url)
    with reading(engine) as conn:
        assert conn.execute(select(units.c.vacancies).where(units.c.unit_id == "U1")
                            ).scalar_one() == 1
        assert conn.execute(select(proposals.c.option).where(proposals.c.id.in_([c1, c5]))
                            ).scalars().all() == ["U1", "U1"]

    outcomes = race(register_url, [(c1, PLACEMENTS, "placement_officer"),
                                   (c5, PLACEMENTS, "placement_officer")])

    assert sorted(status for _, status in outcomes) == ["lapsed", "placed"]
    with reading(engine) as conn:
        assert conn.execute(select(units.c.vacancies).where(units.c.unit_id == "U1")
                            ).scalar_one() == 0
        in_u1 = conn.execute(select(func.count()).select_from(placements)
                             .where(placements.c.unit_id == "U1")).scalar_one()
        assert in_u1 == 1
        assert check_invariants(conn) == []


def test_two_officers_approve_one_proposal_at_once(register_url: str) -> None:
    """C3 needs two approvals; given at the same moment, exactly one placement starts."""
    record = new_register(register_url, small_result())
    c3 = record.proposals["C3"]
    outcomes = race(register_url, [(c3, CSC, "executive_director_csc"),
                                   (c3, NOMINATED, "nominated_officer")])
    assert sorted(status for _, status in outcomes) == ["pending", "placed"]
    engine = open_engine(register_url)
    with reading(engine) as conn:
        assert conn.execute(select(proposals.c.status).where(proposals.c.id == c3)
                            ).scalar_one() == "placed"
        assert conn.execute(select(func.count()).select_from(placements)).scalar_one() == 1
        assert check_invariants(conn) == []


@pytest.mark.parametrize("backend", ["sqlite"])
def test_the_database_refuses_negative_vacancies(tmp_path, backend: str) -> None:
    """The CHECK constraint holds even for a writer that skips the conditional UPDATE."""
    from sqlalchemy import update
    from sqlalchemy.exc import IntegrityError

    url = str(tmp_path / "register.db")
    new_register(url, small_result())
    engine = open_engine(url)
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(update(units).where(units.c.unit_id == "U1").values(vacancies=-1))
