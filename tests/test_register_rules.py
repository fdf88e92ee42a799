"""The register's own rules: migrations, the append-only log, the scheme of delegation,
suspended lot admissions, superseded proposals and moves between placements."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from register_support import (
    ASC,
    CSC,
    NOMINATED,
    PLACEMENTS,
    SCHEME,
    new_register,
    register_url_fixture,  # noqa: F401  (the register_url fixture)
    small_result,
)
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import DBAPIError

from allocator.issues import InputError
from allocator.register import schema
from allocator.register.db import RegisterError, open_engine, reading
from allocator.register.decisions import approve, reject
from allocator.register.delegation import parse_scheme
from allocator.register.migrate import LATEST, migrate, require_current
from allocator.register.schema import placements, proposals
from allocator.register.ssda903 import episodes
from allocator.register.state import check_invariants, load_delegation
from allocator.register.store import lot_event, record_run

DAY = date(2026, 11, 26)


def test_migrations_build_the_declared_schema_once(register_url: str) -> None:
    engine = open_engine(register_url, create=True)
    assert migrate(engine) == list(range(1, LATEST + 1))
    assert migrate(engine) == []  # a second init applies nothing
    with engine.connect() as conn:
        found = inspect(conn)
        for name, table in schema.metadata.tables.items():
            assert {c["name"] for c in found.get_columns(name)} == set(table.columns.keys())
    require_current(engine)


def test_a_register_newer_than_the_code_is_refused(register_url: str) -> None:
    engine = open_engine(register_url, create=True)
    migrate(engine)
    with engine.begin() as conn:
        conn.execute(schema.schema_version.insert().values(version=LATEST + 1,
                                                           description="future",
                                                           applied_at="2030-01-01"))
    with pytest.raises(RegisterError, match="newer than this pdps"):
        require_current(engine)


def test_the_audit_log_is_append_only(register_url: str) -> None:
    new_register(register_url, small_result())
    engine = open_engine(register_url)
    for statement in ("UPDATE audit_log SET officer = 'someone else'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text(statement))
    with reading(engine) as conn:
        assert check_invariants(conn) == []


def test_scheme_rejects_unknown_keys_roles_and_repeated_names() -> None:
    good = Path(SCHEME).read_text()
    assert len(parse_scheme(good).officers) == 4
    for bad, why in [
        (good.replace("approved_on:", "aproved_on:"), "aproved_on"),
        (good.replace("roles: [executive_director_asc]", "roles: [exec_director_asc]"),
         "unknown role"),
        (good.replace("name: Sam Patel", "name: Alex Morgan"), "more than once"),
        ("- just a list", "expected a mapping"),
    ]:
        with pytest.raises(InputError) as caught:
            parse_scheme(bad)
        assert why in caught.value.report()


def test_delegation_periods_and_reloading(tmp_path: Path) -> None:
    url = str(tmp_path / "register.db")
    record = new_register(url, small_result())
    c1 = record.proposals["C1"]
    # Chris Lee holds placement_officer from 2026-01-01 to 2027-12-31 only.
    with pytest.raises(RegisterError, match="does not hold the role placement_officer"):
        approve(url, c1, PLACEMENTS, "placement_officer", on=date(2028, 1, 1))
    narrower = tmp_path / "scheme.yaml"
    narrower.write_text(Path(SCHEME).read_text().replace("valid_until: 2027-12-31",
                                                         "valid_until: 2026-11-25"))
    load_delegation(url, narrower, "tests")
    with pytest.raises(RegisterError, match="does not hold"):
        approve(url, c1, PLACEMENTS, "placement_officer", on=DAY)
    engine = open_engine(url)
    with reading(engine) as conn:
        refused = conn.execute(text("SELECT count(*) FROM audit_log WHERE action = "
                                    "'approve_refused'")).scalar_one()
    assert refused == 2


def test_suspended_lot_admission_stops_a_pdps_placement(register_url: str) -> None:
    record = new_register(register_url, small_result())
    for lot in ("L1-residential", "L4-SEND"):
        lot_event(register_url, "U2", lot, "suspend", DAY, CSC, "Ofsted inadequate")
    outcome = approve(register_url, record.proposals["C2"], CSC, "executive_director_csc",
                      on=DAY)
    assert outcome.status == "lapsed" and "suspended" in outcome.message
    lot_event(register_url, "U2", "L1-residential", "reinstate", DAY, CSC)
    with pytest.raises(RegisterError, match="cannot suspend"):
        lot_event(register_url, "U2", "L4-SEND", "suspend", DAY, CSC)
    again = record_run(register_url, small_result())
    placed = approve(register_url, again.proposals["C2"], CSC, "executive_director_csc",
                     on=DAY)
    assert placed.status == "placed"
    engine = open_engine(register_url)
    with reading(engine) as conn:
        lot = conn.execute(select(placements.c.lot)).scalar_one()
        assert lot == "L1-residential"  # the open lot that names the setting
        assert check_invariants(conn) == []


def test_a_new_run_supersedes_pending_proposals_and_moves_are_episodes(
        register_url: str) -> None:
    first = new_register(register_url, small_result())
    for officer, role in [(CSC, "executive_director_csc"), (NOMINATED, "nominated_officer"),
                          (CSC, "dcs"), (ASC, "executive_director_asc")]:
        approve(register_url, first.proposals["C4"], officer, role, on=DAY)
    reject(register_url, first.proposals["C3"], NOMINATED, "nominated_officer", on=DAY)
    second = record_run(register_url, small_result())
    assert second.superseded == 2  # C1 and C2 were still pending; C3 rejected, C4 placed
    engine = open_engine(register_url)
    with reading(engine) as conn:
        pending = conn.execute(select(proposals.c.child_id).where(
            proposals.c.status == "pending").order_by(proposals.c.child_id)).scalars().all()
    assert pending == ["C1", "C2", "C3", "C4"]
    with pytest.raises(RegisterError, match="superseded"):
        approve(register_url, first.proposals["C1"], PLACEMENTS, "placement_officer", on=DAY)
    # C4 moves: the new placement ends the old one on the same day, coded X1.
    for officer, role in [(CSC, "executive_director_csc"), (NOMINATED, "nominated_officer"),
                          (CSC, "dcs"), (ASC, "executive_director_asc")]:
        approve(register_url, second.proposals["C4"], officer, role, on=date(2026, 12, 7))
    rows = episodes(register_url).to_dict("records")
    assert [(r["CHILD"], r["RNE"], r["DEC"], r["REC"]) for r in rows] == [
        ("C4", "S", "07/12/2026", "X1"), ("C4", "P", "", "")]
    with reading(engine) as conn:
        assert check_invariants(conn) == []
