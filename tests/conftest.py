"""Small named fixtures shared by the test suite.

Every fixture builds contract-valid input (data contract sections 1-4) that validates with no
error and no warning at :data:`AS_OF`, so a test can break exactly one thing and expect
exactly one issue. Tables are DataFrames of text cells, as a CSV holds them; ``write_table``
puts one on disk in ``tmp_path``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from allocator.issues import InputError, Issue
from allocator.validate import load_inputs

#: The ``--as-of`` date the fixtures are valid at.
AS_OF = date(2026, 11, 25)

WriteTable = Callable[[pd.DataFrame, str], Path]


@pytest.fixture
def as_of() -> date:
    """The run date at which every fixture table is valid and warning-free."""
    return AS_OF


@pytest.fixture
def referrals_frame() -> pd.DataFrame:
    """Four children with every referral column used: a kept-together pair of siblings, an
    emergency with 1:1 staffing and a key stage 4 child with a school location."""
    rows = [
        {"child_id": "C001", "date_of_birth": "2012-03-01", "sex": "M",
         "settings": "foster;residential", "needs": "SEMH;ASD", "staffing": "standard",
         "therapy_need": "false", "home_lat": "53.4860", "home_lon": "-3.0140",
         "school_lat": "", "school_lon": "", "key_stage_4": "false", "urgency": "planned",
         "referral_date": "2026-11-01", "sibling_group": "S1", "keep_together": "",
         "max_distance_miles": "20", "min_distance_miles": "", "avoid_authorities": "",
         "expected_weeks": "26", "legal_status": "C2", "category_of_need": "N1"},
        {"child_id": "C002", "date_of_birth": "2014-07-15", "sex": "F",
         "settings": "foster", "needs": "", "staffing": "", "therapy_need": "",
         "home_lat": "53.4860", "home_lon": "-3.0140", "school_lat": "", "school_lon": "",
         "key_stage_4": "", "urgency": "", "referral_date": "", "sibling_group": "S1",
         "keep_together": "yes", "max_distance_miles": "", "min_distance_miles": "",
         "avoid_authorities": "", "expected_weeks": "", "legal_status": "",
         "category_of_need": ""},
        {"child_id": "C003", "date_of_birth": "2010-01-05", "sex": "F",
         "settings": "residential;supported", "needs": "CSE;MFH", "staffing": "1:1",
         "therapy_need": "true", "home_lat": "53.6450", "home_lon": "-2.9930",
         "school_lat": "53.6400", "school_lon": "-2.9800", "key_stage_4": "true",
         "urgency": "emergency", "referral_date": "2026-11-20", "sibling_group": "",
         "keep_together": "", "max_distance_miles": "40", "min_distance_miles": "10",
         "avoid_authorities": "Liverpool", "expected_weeks": "52", "legal_status": "V2",
         "category_of_need": "N4"},
        {"child_id": "C004", "date_of_birth": "2015-09-30", "sex": "M",
         "settings": "foster", "needs": "LD", "staffing": "standard", "therapy_need": "no",
         "home_lat": "53.4100", "home_lon": "-2.9500", "school_lat": "53.4200",
         "school_lon": "-2.9600", "key_stage_4": "n", "urgency": "planned",
         "referral_date": "2026-10-05", "sibling_group": "", "keep_together": "",
         "max_distance_miles": "", "min_distance_miles": "0", "avoid_authorities": "",
         "expected_weeks": "12", "legal_status": "C1", "category_of_need": "N2"},
    ]
    return pd.DataFrame(rows, dtype=object)


@pytest.fixture
def units_frame() -> pd.DataFrame:
    """Three units from two providers, one per common setting, every unit column used."""
    rows = [
        {"unit_id": "U01", "provider_id": "P1", "provider_name": "Seaview Care",
         "setting": "residential", "route": "pdps", "ownership": "PR4", "lots": "L1;L2",
         "admitted_date": "2025-04-01", "local_authority": "Sefton", "lat": "53.4800",
         "lon": "-3.0200", "ofsted_urn": "SC123456", "ofsted_rating": "good",
         "age_min": "8", "age_max": "17", "sexes": "any", "needs_supported": "SEMH;ASD;CSE;MFH",
         "vacancies": "2", "staff_capacity": "2", "accepts_emergency": "true",
         "available_from": "2026-11-01", "weekly_price": "£5,200", "price_1to1": "1800",
         "price_2to1": "3600", "price_3to1": "", "therapeutic": "true",
         "max_new_admissions": "1"},
        {"unit_id": "U02", "provider_id": "P2", "provider_name": "Mersey Fostering",
         "setting": "foster", "route": "in_house", "ownership": "PR1", "lots": "",
         "admitted_date": "", "local_authority": "Liverpool", "lat": "53.4084",
         "lon": "-2.9916", "ofsted_urn": "", "ofsted_rating": "outstanding",
         "age_min": "0", "age_max": "17", "sexes": "any", "needs_supported": "SEMH;ASD;LD",
         "vacancies": "3", "staff_capacity": "", "accepts_emergency": "",
         "available_from": "", "weekly_price": "850.50", "price_1to1": "", "price_2to1": "",
         "price_3to1": "", "therapeutic": "", "max_new_admissions": ""},
        {"unit_id": "U03", "provider_id": "P2", "provider_name": "Mersey Fostering",
         "setting": "supported", "route": "spot", "ownership": "", "lots": "L3",
         "admitted_date": "", "local_authority": "Wirral", "lat": "53.3900",
         "lon": "-3.0500", "ofsted_urn": "", "ofsted_rating": "",
         "age_min": "16", "age_max": "17", "sexes": "F", "needs_supported": "",
         "vacancies": "0", "staff_capacity": "0", "accepts_emergency": "no",
         "available_from": "2026-12-01", "weekly_price": "1500", "price_1to1": "",
         "price_2to1": "", "price_3to1": "", "therapeutic": "false",
         "max_new_admissions": ""},
    ]
    return pd.DataFrame(rows, dtype=object)


@pytest.fixture
def offers_frame() -> pd.DataFrame:
    """Offers for fixture children in fixture units, with and without the optional columns."""
    rows = [
        {"child_id": "C001", "unit_id": "U01", "weekly_price": "5100", "quality_score": "80",
         "capacity_use": "1"},
        {"child_id": "C002", "unit_id": "U02", "weekly_price": "900", "quality_score": "",
         "capacity_use": ""},
        {"child_id": "C003", "unit_id": "U01", "weekly_price": "£7,000.00",
         "quality_score": "95.5", "capacity_use": "2"},
    ]
    return pd.DataFrame(rows, dtype=object)


@pytest.fixture
def conflicts_frame() -> pd.DataFrame:
    """Two pairs of fixture children who must not share a unit."""
    return pd.DataFrame([{"child_a": "C001", "child_b": "C003", "reason": "exploitation risk"},
                         {"child_a": "C004", "child_b": "C002", "reason": ""}], dtype=object)


@pytest.fixture
def write_table(tmp_path: Path) -> WriteTable:
    """Write a text-cell table as a UTF-8 CSV in ``tmp_path``; returns the file's path."""

    def write(frame: pd.DataFrame, name: str) -> Path:
        path = tmp_path / name
        frame.to_csv(path, index=False)
        return path

    return write


@pytest.fixture
def contract_files(write_table: WriteTable, referrals_frame: pd.DataFrame,
                   units_frame: pd.DataFrame, offers_frame: pd.DataFrame,
                   conflicts_frame: pd.DataFrame) -> dict[str, Path]:
    """The four fixture tables as CSV files, keyed by role."""
    return {
        "referrals": write_table(referrals_frame, "referrals.csv"),
        "units": write_table(units_frame, "units.csv"),
        "offers": write_table(offers_frame, "offers.csv"),
        "conflicts": write_table(conflicts_frame, "conflicts.csv"),
    }


CollectIssues = Callable[..., list[Issue]]


@pytest.fixture
def collect_issues(tmp_path: Path, referrals_frame: pd.DataFrame,
                   units_frame: pd.DataFrame) -> CollectIssues:
    """Validate tables (CSV written to ``tmp_path``) and return every issue, errors first.

    Call it with any of ``referrals``, ``units``, ``offers``, ``conflicts`` (a DataFrame of
    text cells, or a path), ``policy`` and ``as_of``; referrals and units default to the
    fixture tables, ``as_of`` to :data:`AS_OF`. Valid input returns its warnings.
    """
    def collect(**given: object) -> list[Issue]:
        sources: dict[str, object] = {"referrals": referrals_frame, "units": units_frame}
        sources.update({k: v for k, v in given.items() if k not in ("policy", "as_of")})
        paths: dict[str, object] = {}
        for role, source in sources.items():
            if isinstance(source, pd.DataFrame):
                path = tmp_path / f"{role}.csv"
                source.to_csv(path, index=False)
                paths[role] = path
            else:
                paths[role] = source
        try:
            inputs = load_inputs(paths.pop("referrals"), paths.pop("units"), **paths,
                                 policy=given.get("policy"), as_of=given.get("as_of", AS_OF))
        except InputError as exc:
            return exc.errors + [i for i in exc.issues if i.severity != "error"]
        return list(inputs.warnings)

    return collect


@dataclass(frozen=True)
class DemoRun:
    """A demo market on disk and one optimised run of it written as the contract's folder."""

    data: Path      # referrals.csv, units.csv, conflicts.csv
    out: Path       # allocation.csv, summary.json, manifest.json, allocation.xlsx, ...
    result: Any     # the allocator.api.AllocationResult that was written


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    """``make demo``'s market (40 children, 400 units, seed 2026) allocated once per session.

    Shared read-only by the report, workbook and browser tests: copy ``out`` before changing
    anything in it.
    """
    from allocator.api import allocate
    from scenarios.demo_data import generate, write

    root = tmp_path_factory.mktemp("demo")
    write(generate(40, 400, 2026, AS_OF), root / "data")
    result = allocate(root / "data" / "referrals.csv", root / "data" / "units.csv",
                      conflicts=root / "data" / "conflicts.csv", as_of=AS_OF)
    result.write(root / "out")
    return DemoRun(root / "data", root / "out", result)
