"""The register's tables (SQLAlchemy Core), as of the latest migration in :mod:`.migrate`.

Money is integer pence, as inside the solver; dates are calendar dates (a placement starts on a
day, not at an instant); moments (``*_at``) are ISO 8601 UTC text, which sorts and compares the
same on SQLite and PostgreSQL. Child ids are the pseudonymous ids of the referrals: the register
stores no name, no date of birth and no home location (only the Sefton town nearest the home,
for the sufficiency report).

Rules the database itself enforces, so that no code path (or a person with ``psql``) can break
them: ``vacancies >= 0``; at most one pending proposal and one active placement per child
(partial unique indexes); one decision per role per proposal; one placement per proposal; an
append-only audit log (triggers, migration 2).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

#: Identifier columns: long enough for any id a council's extract uses.
ID = String(64)

schema_version = Table(
    "schema_version", metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("description", Text, nullable=False),
    Column("applied_at", String(32), nullable=False),
)

delegation_schemes = Table(
    "delegation_schemes", metadata,
    Column("id", Integer, primary_key=True),
    Column("loaded_at", String(32), nullable=False),
    Column("loaded_by", Text, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("source", Text, nullable=False),
)

units = Table(
    "units", metadata,
    Column("unit_id", ID, primary_key=True),
    Column("provider_id", ID, nullable=False),
    Column("provider_name", Text, nullable=False),
    Column("setting", String(16), nullable=False),
    Column("route", String(16), nullable=False),
    Column("ownership", String(8), nullable=False),
    Column("local_authority", Text, nullable=False),
    Column("ofsted_urn", ID),
    Column("ofsted_rating", String(32)),
    Column("weekly_price_pence", BigInteger, nullable=False),
    # Places free now, and places the register manages (free + filled by its placements):
    # vacancies + places of the unit's active placements == capacity, always.
    Column("vacancies", Integer, nullable=False),
    Column("capacity", Integer, nullable=False),
    Column("updated_at", String(32), nullable=False),
    CheckConstraint("vacancies >= 0", name="ck_units_vacancies_nonnegative"),
    CheckConstraint("vacancies <= capacity", name="ck_units_vacancies_within_capacity"),
)

lot_admissions = Table(
    "lot_admissions", metadata,
    Column("unit_id", ID, ForeignKey("units.unit_id"), primary_key=True),
    Column("lot", ID, primary_key=True),
    Column("status", String(16), nullable=False),  # admitted | suspended | withdrawn
    Column("admitted_on", Date, nullable=False),
    Column("status_since", Date, nullable=False),
    CheckConstraint("status IN ('admitted', 'suspended', 'withdrawn')",
                    name="ck_lot_admissions_status"),
)

lot_events = Table(
    "lot_events", metadata,
    Column("id", Integer, primary_key=True),
    Column("unit_id", ID, ForeignKey("units.unit_id"), nullable=False),
    Column("lot", ID, nullable=False),
    Column("event", String(16), nullable=False),  # admitted | suspended | reinstated | withdrawn
    Column("effective_on", Date, nullable=False),
    Column("reason", Text),
    Column("officer", Text, nullable=False),
    Column("recorded_at", String(32), nullable=False),
)

referrals = Table(
    "referrals", metadata,
    Column("child_id", ID, primary_key=True),
    Column("referral_date", Date),
    Column("urgency", String(16), nullable=False),
    Column("settings", Text, nullable=False),
    Column("needs", Text, nullable=False),
    Column("staffing", String(16), nullable=False),
    Column("key_stage_4", Boolean, nullable=False),
    Column("legal_status", String(4)),
    Column("category_of_need", String(4)),
    Column("expected_weeks", Integer),
    Column("home_area", Text, nullable=False),
    Column("last_run_id", Integer, ForeignKey("runs.id"), nullable=False),
)

runs = Table(
    "runs", metadata,
    Column("id", Integer, primary_key=True),
    Column("recorded_at", String(32), nullable=False),
    Column("recorded_by", Text, nullable=False),
    Column("as_of", Date, nullable=False),
    Column("method", String(16), nullable=False),
    Column("status", String(32), nullable=False),
    Column("children", Integer, nullable=False),
    Column("total_weekly_cost_pence", BigInteger, nullable=False),
    Column("manifest", Text, nullable=False),  # manifest.json as written, hashes and policy
    Column("summary", Text, nullable=False),
)

offers = Table(
    "offers", metadata,
    Column("id", Integer, primary_key=True),
    Column("run_id", Integer, ForeignKey("runs.id"), nullable=False),
    Column("child_id", ID, nullable=False),
    Column("unit_id", ID, nullable=False),
    Column("weekly_price_pence", BigInteger, nullable=False),
    Column("quality_score", Float),
    Column("capacity_use", Integer, nullable=False),
)

proposals = Table(
    "proposals", metadata,
    Column("id", Integer, primary_key=True),
    Column("run_id", Integer, ForeignKey("runs.id"), nullable=False),
    Column("child_id", ID, nullable=False),
    Column("option", Text, nullable=False),
    Column("kind", String(16), nullable=False),  # unit | fallback | unplaced
    Column("unit_id", ID, ForeignKey("units.unit_id")),
    Column("provider_id", ID),
    Column("setting", String(16)),
    Column("route", String(16)),
    Column("place_code", String(4)),
    Column("place_provider", String(4)),
    Column("weekly_cost_pence", BigInteger, nullable=False),
    Column("objective_cost_pence", BigInteger, nullable=False),
    Column("distance_miles", Float),
    Column("in_borough", Boolean),
    Column("approvals", Text, nullable=False),  # ;-list, the engine's reading of the contract
    Column("places", Integer, nullable=False),  # capacity_use of the offer, else 1
    Column("reason", Text, nullable=False),
    # pending | placed | rejected | lapsed | superseded | unplaced
    Column("status", String(16), nullable=False),
    Column("status_at", String(32), nullable=False),
    Column("status_reason", Text),
    CheckConstraint("places >= 1", name="ck_proposals_places"),
)
Index("uq_proposals_one_pending_per_child", proposals.c.child_id, unique=True,
      sqlite_where=proposals.c.status == "pending",
      postgresql_where=proposals.c.status == "pending")
Index("ix_proposals_run", proposals.c.run_id)

approvals = Table(
    "approvals", metadata,
    Column("id", Integer, primary_key=True),
    Column("proposal_id", Integer, ForeignKey("proposals.id"), nullable=False),
    Column("role", String(32), nullable=False),
    Column("officer", Text, nullable=False),
    Column("decision", String(16), nullable=False),  # granted | rejected
    Column("decided_at", String(32), nullable=False),
    Column("note", Text),  # free text: may hold personal data, never logged or echoed
    UniqueConstraint("proposal_id", "role", name="uq_approvals_one_decision_per_role"),
    CheckConstraint("decision IN ('granted', 'rejected')", name="ck_approvals_decision"),
)

placements = Table(
    "placements", metadata,
    Column("id", Integer, primary_key=True),
    Column("proposal_id", Integer, ForeignKey("proposals.id"), nullable=False, unique=True),
    Column("child_id", ID, nullable=False),
    Column("unit_id", ID, ForeignKey("units.unit_id")),  # null for a fallback
    Column("provider_id", ID),
    Column("provider_name", Text),
    Column("route", String(16), nullable=False),
    Column("lot", ID),
    Column("setting", String(16), nullable=False),
    Column("place_code", String(4)),
    Column("place_provider", String(4)),
    Column("local_authority", Text),
    Column("in_borough", Boolean),
    Column("ofsted_urn", ID),
    Column("weekly_cost_pence", BigInteger, nullable=False),
    Column("places", Integer, nullable=False),
    Column("asc_impact", Boolean, nullable=False),
    Column("start_date", Date, nullable=False),
    Column("end_date", Date),
    Column("end_reason", String(8)),  # SSDA903 REC code
    Column("status", String(16), nullable=False),  # active | ended
    CheckConstraint("status IN ('active', 'ended')", name="ck_placements_status"),
    CheckConstraint("end_date IS NULL OR end_date >= start_date", name="ck_placements_dates"),
)
Index("uq_placements_one_active_per_child", placements.c.child_id, unique=True,
      sqlite_where=placements.c.status == "active",
      postgresql_where=placements.c.status == "active")

audit_log = Table(
    "audit_log", metadata,
    Column("id", Integer, primary_key=True),
    Column("at", String(32), nullable=False),
    Column("officer", Text, nullable=False),  # who claimed to act (staff data)
    Column("os_user", Text, nullable=False),  # the account the command ran under
    Column("action", String(48), nullable=False),
    Column("entity", String(32), nullable=False),
    Column("entity_id", Text, nullable=False),
    Column("detail", Text, nullable=False),  # JSON: ids, roles, codes, counts; never a note
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False, unique=True),
)
