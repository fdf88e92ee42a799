"""Shared pieces of the register tests: a small market with known numbers, fresh registers on
SQLite and PostgreSQL, and the worker the concurrency test races in two processes.

The market is built so the allocation is forced (each child fits one option), which lets the
tests check every number by hand:

========  ==========================  ==========================================  ========
child     option                      approvals                                   £/week
========  ==========================  ==========================================  ========
C1        U1, in-house foster, Sefton (none: a placement_officer accepts)         450
C2        U2, PDPS home, Sefton       executive_director_csc                      4000
C3        U3, PDPS home, Liverpool    executive_director_csc; nominated_officer   4200
C4        fallback:lcr:residential    csc; nominated_officer; dcs; asc (aged 17)  5200
========  ==========================  ==========================================  ========
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

AS_OF = "2026-11-25"
SCHEME = Path(__file__).resolve().parents[1] / "allocator/register/examples/delegation.yaml"
PG_ENV = "PDPS_TEST_POSTGRES_URL"

#: Officers of the example scheme and their roles.
CSC = "Alex Morgan"          # executive_director_csc, dcs
NOMINATED = "Sam Patel"      # nominated_officer, ks4_nominated_officer
ASC = "Jo Williams"          # executive_director_asc
PLACEMENTS = "Chris Lee"     # placement_officer


def referrals_frame() -> pd.DataFrame:
    base = {"sex": "M", "home_lat": "53.4467", "home_lon": "-2.9925", "urgency": "planned",
            "expected_weeks": "26", "legal_status": "C2", "category_of_need": "N1",
            "needs": ""}
    rows = [
        {"child_id": "C1", "date_of_birth": "2018-05-01", "settings": "foster"},
        {"child_id": "C2", "date_of_birth": "2013-02-01", "settings": "residential",
         "needs": "SEMH", "legal_status": "V2"},
        {"child_id": "C3", "date_of_birth": "2011-03-01", "settings": "residential",
         "needs": "SEMH;CSE", "home_lat": "53.6450", "home_lon": "-2.9980"},
        {"child_id": "C4", "date_of_birth": "2009-06-01", "settings": "residential",
         "needs": "ASD", "category_of_need": "N2"},
    ]
    return pd.DataFrame([base | r for r in rows])


def units_frame(vacancies: int = 1) -> pd.DataFrame:
    base = {"ownership": "PR4", "ofsted_rating": "good", "sexes": "any",
            "needs_supported": "SEMH;CSE;ASD", "vacancies": str(vacancies),
            "accepts_emergency": "false", "lots": "", "admitted_date": "2025-01-01"}
    rows = [
        {"unit_id": "U1", "provider_id": "P1", "provider_name": "Sefton Fostering",
         "setting": "foster", "route": "in_house", "ownership": "PR1",
         "local_authority": "Sefton", "lat": "53.4500", "lon": "-2.9900",
         "age_min": "0", "age_max": "17", "weekly_price": "450", "ofsted_urn": "SC000001"},
        {"unit_id": "U2", "provider_id": "P2", "provider_name": "Coastal Care",
         "setting": "residential", "route": "pdps", "local_authority": "Sefton",
         "lat": "53.4870", "lon": "-3.0250", "age_min": "12", "age_max": "14",
         "weekly_price": "4000", "lots": "L4-SEND;L1-residential", "ofsted_urn": "SC000002"},
        {"unit_id": "U3", "provider_id": "P3", "provider_name": "Mersey Homes",
         "setting": "residential", "route": "pdps", "local_authority": "Liverpool",
         "lat": "53.4084", "lon": "-2.9780", "age_min": "15", "age_max": "16",
         "weekly_price": "4200", "lots": "L1-residential", "ofsted_urn": "SC000003"},
    ]
    return pd.DataFrame([base | r for r in rows])


@cache
def small_result() -> Any:
    """The small market's allocation (solved once per test process)."""
    from allocator.api import allocate

    return allocate(referrals_frame(), units_frame(), as_of=AS_OF, explain=False)


def new_register(url: str, result: Any | None = None) -> Any:
    """Create a register at ``url``, load the example scheme, record ``result`` if given."""
    from allocator.register.db import open_engine
    from allocator.register.migrate import migrate
    from allocator.register.state import load_delegation
    from allocator.register.store import record_run

    engine = open_engine(url, create=True)
    migrate(engine)
    load_delegation(engine, SCHEME, "tests")
    return record_run(engine, result) if result is not None else None


@pytest.fixture(params=["sqlite", "postgresql"], name="register_url")
def register_url_fixture(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL for a new, empty register: a SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield str(tmp_path / "register.db")
        return
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"PostgreSQL variant: {PG_ENV} is not set (.ci/run sets it when it can "
                    "install and start PostgreSQL)")
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"pdps_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def race_worker(url: str, proposal_id: int, officer: str, role: str, barrier: Any,
                results: Any) -> None:
    """Concurrency test worker: open the register, wait for the other, then approve."""
    from allocator.register.db import open_engine
    from allocator.register.decisions import approve

    engine = open_engine(url)
    with engine.connect():
        pass  # connect before the barrier, so both start their transactions together
    barrier.wait(timeout=60)
    outcome = approve(engine, proposal_id, officer, role, on=pd.Timestamp(AS_OF).date())
    results.put((proposal_id, outcome.status))


@cache
def rival_result() -> Any:
    """A second run's allocation: child C5 alone, who also fits only U1 (the in-house place
    C1 was proposed for), so the two runs' proposals compete for U1's last place."""
    from allocator.api import allocate

    c5 = referrals_frame().iloc[[0]].assign(child_id="C5", date_of_birth="2017-01-01")
    return allocate(c5, units_frame(), as_of=AS_OF, explain=False)
