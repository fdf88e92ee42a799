"""Versioned schema migrations: numbered steps, recorded in ``schema_version``.

A plain list of functions rather than Alembic: the register has a handful of tables, one
owner and no branches, and a reader can see every step here. :func:`migrate` applies all
pending steps in ONE transaction under the write lock (DDL is transactional on both SQLite
and PostgreSQL), so a register is at an old version or at the new one, never between; two
``pdps register init`` at once apply each step once.

Adding a step: append ``(N, description, function)`` to :data:`MIGRATIONS` and change
:mod:`.schema` to the new shape. Migration 1 builds tables from :mod:`.schema`, so when a
later step alters a table, first copy that table's version-1 definition into migration 1:
a new register must be built by the same steps an old one is upgraded by
(``tests/test_register_schema.py`` checks the two agree).
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection, Engine, inspect, select, text

from allocator.register import schema
from allocator.register.db import RegisterError, now, writing

Step = Callable[[Connection], None]


def _v1_tables(conn: Connection) -> None:
    """Units, lot admissions, referrals, runs, offers, proposals, approvals, placements, log."""
    tables = [t for name, t in schema.metadata.tables.items() if name != "schema_version"]
    schema.metadata.create_all(conn, tables=tables)


_SQLITE_APPEND_ONLY = [
    """CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
       BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END""",
    """CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
       BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END""",
]
_POSTGRES_APPEND_ONLY = [
    """CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$""",
    """CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
       FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()""",
    """CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
       FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()""",
]


def _v2_append_only_audit(conn: Connection) -> None:
    """Make the database itself refuse to change or delete audit rows."""
    statements = (_POSTGRES_APPEND_ONLY if conn.dialect.name == "postgresql"
                  else _SQLITE_APPEND_ONLY)
    for statement in statements:
        conn.execute(text(statement))


#: Every step, in order. Never edit a step that has shipped; add a new one.
MIGRATIONS: list[tuple[int, str, Step]] = [
    (1, "register tables", _v1_tables),
    (2, "append-only audit log", _v2_append_only_audit),
]
LATEST = MIGRATIONS[-1][0]


def current_version(conn: Connection) -> int:
    """The highest version applied, 0 for an empty database."""
    if not inspect(conn).has_table("schema_version"):
        return 0
    found = conn.execute(select(schema.schema_version.c.version)
                         .order_by(schema.schema_version.c.version.desc()).limit(1))
    return found.scalar_one_or_none() or 0


def migrate(engine: Engine) -> list[int]:
    """Apply every pending step in one transaction; the versions applied (empty if none)."""
    with writing(engine) as conn:
        version = current_version(conn)
        if version > LATEST:
            raise _too_new(version)
        if version == 0:
            schema.schema_version.create(conn)
        applied = []
        for number, description, step in MIGRATIONS:
            if number <= version:
                continue
            step(conn)
            conn.execute(schema.schema_version.insert().values(
                version=number, description=description, applied_at=now()))
            applied.append(number)
        if applied:
            from allocator.register.audit import append

            append(conn, officer="system", action="schema_migrated", entity="register",
                   entity_id=LATEST, detail={"from": version, "to": LATEST})
        return applied


def require_current(engine: Engine) -> None:
    """Refuse to work on a register that is not at this code's version (exit 2)."""
    with engine.connect() as conn:
        version = current_version(conn)
    if version == 0:
        raise RegisterError("this database is not a pdps register (no schema_version); "
                            "run `pdps register init`", "--register")
    if version < LATEST:
        raise RegisterError(f"the register is at schema version {version}, this pdps needs "
                            f"{LATEST}: run `pdps register init` to upgrade it", "--register")
    if version > LATEST:
        raise _too_new(version)


def _too_new(version: int) -> RegisterError:
    return RegisterError(f"the register is at schema version {version}, newer than this pdps "
                         f"knows ({LATEST}); upgrade pdps", "--register")
