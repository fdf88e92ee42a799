"""Opening a register and running transactions on it, the same way on SQLite and PostgreSQL.

Every write goes through :func:`writing`, which takes the register's single write lock before
its first statement: ``BEGIN IMMEDIATE`` on SQLite, a transaction-scoped advisory lock on
PostgreSQL. Writes are therefore serial, whatever the number of processes or officers: a
register records tens of decisions a day, so serial writes cost nothing and make every
read-check-write in a transaction safe. The statements that fill a place are also guarded on
their own (a conditional ``UPDATE ... WHERE vacancies >= n`` whose row count is checked, and
status changes conditional on the old status), so even a writer that bypassed the lock could
not fill a place twice. A process killed mid-transaction leaves nothing: SQLite rolls the
journal back on the next open, PostgreSQL aborts the transaction when the connection drops.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError

from allocator.register.errors import RegisterError
from allocator.register.schema import schema_version

#: The PostgreSQL advisory lock key that serialises writers ("PDPSREG1" as an integer).
WRITE_LOCK_KEY = 0x5044505352454731 & 0x7FFFFFFFFFFFFFFF

#: Tests only: name a crash point here and the process kills itself with SIGKILL when it
#: reaches it (see :func:`crash_point`). Never set in production.
CRASH_ENV = "PDPS_REGISTER_CRASH_AT"

#: How long a writer waits for the write lock on SQLite before giving up, in ms.
SQLITE_BUSY_TIMEOUT_MS = 60_000


def now() -> str:
    """The current moment as ISO 8601 UTC text, to the second."""
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def register_url(target: str) -> str:
    """A SQLAlchemy URL for ``target``: a URL as given, or a file path for a SQLite register.

    ``postgresql://`` URLs are given the psycopg 3 driver the project installs.
    """
    if "://" not in target:
        return f"sqlite:///{Path(target).expanduser().resolve()}"
    if target.startswith("postgresql://") or target.startswith("postgres://"):
        return "postgresql+psycopg://" + target.split("://", 1)[1]
    return target


def display_url(url: str) -> str:
    """The URL with any password hidden, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable URL>"


def open_engine(target: str, *, create: bool = False) -> Engine:
    """An engine on the register at ``target`` (path or URL); exit-2 errors for bad targets.

    A SQLite file must already exist unless ``create`` (``pdps register init``) is set, so a
    mistyped path is an error rather than a new, empty register.
    """
    url = register_url(target)
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise RegisterError(f"not a register path or URL: {exc}", "--register") from exc
    if parsed.get_backend_name() == "sqlite":
        path = Path(parsed.database or "")
        try:
            _check_sqlite_path(path, create)
        except OSError as exc:  # found in review: a 300-character name failed in is_file()
            raise RegisterError(f"{target} cannot be used as a register file "
                                f"({exc.strerror or type(exc).__name__})",
                                "--register") from None
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
        _sqlite_transactions(engine)
        return engine
    if parsed.get_backend_name() != "postgresql":
        raise RegisterError(f"registers are SQLite files or PostgreSQL URLs, not "
                            f"{parsed.get_backend_name()}", "--register")
    try:
        engine = create_engine(url, pool_pre_ping=True)
        with engine.connect():
            pass
    except (OperationalError, ModuleNotFoundError) as exc:
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()
        raise RegisterError(f"cannot connect to {display_url(url)}: "
                            f"{reason[0] if reason else type(exc).__name__}",
                            "--register") from exc
    return engine


def new_sqlite_file(target: str) -> Path | None:
    """The file a SQLite register at ``target`` would create, or None when it exists already
    or ``target`` is not a SQLite path (so ``pdps register init`` can undo a failed create)."""
    try:  # read as open_engine reads it; open_engine names any problem
        parsed = make_url(register_url(target))
        if parsed.get_backend_name() != "sqlite":
            return None
        path = Path(parsed.database or "")
        return None if path.exists() else path
    except (ArgumentError, OSError):
        return None


def _check_sqlite_path(path: Path, create: bool) -> None:
    """Refuse a SQLite path that cannot be a register before SQLite reports it obscurely."""
    if path.is_dir():
        raise RegisterError(f"{path} is a folder: give the register's file name, e.g. "
                            f"{path / 'register.db'}", "--register")
    if not create and not path.is_file():
        raise RegisterError(f"no register at {path}; create one with `pdps register "
                            "init`", "--register")
    if path.is_file() and not _is_sqlite_file(path):
        raise RegisterError(f"{path} is not a register: it is not an SQLite database "
                            "file", "--register")
    if create:
        path.parent.mkdir(parents=True, exist_ok=True)


def _is_sqlite_file(path: Path) -> bool:
    """An SQLite database file (or an empty one, which SQLite treats as a new database).

    Checked by its 16-byte header before connecting: otherwise a CSV passed as ``--register``
    failed inside the connection's first PRAGMA, an internal error (exit 1) for a user's slip.
    """
    with path.open("rb") as handle:
        head = handle.read(16)
    return head in (b"", b"SQLite format 3\x00")


def _sqlite_transactions(engine: Engine) -> None:
    """Let SQLite transactions be real: we emit BEGIN ourselves (IMMEDIATE for writes).

    Python's sqlite3 module otherwise starts transactions late and not before DDL, which would
    let a migration half-apply and let two writers both read before either writes.
    """

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = FULL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        mode = "DEFERRED" if conn.get_execution_options().get("pdps_read") else "IMMEDIATE"
        conn.exec_driver_sql(f"BEGIN {mode}")


def shown(target: str) -> str:
    """The register as messages name it: a file path, or a URL with the password hidden."""
    return target if "://" not in target else display_url(register_url(target))


#: PostgreSQL refusals that mean the login may not write: read-only transaction, no privilege.
_PG_READ_ONLY = {"25006", "42501"}


def user_fault(exc: DBAPIError, target: str) -> RegisterError | None:
    """The exit-2 error a database failure stands for, when the register file or login is at
    fault rather than the code: a read-only register, a truncated or corrupt SQLite file, a
    file SQLite cannot open. ``None`` for anything else (an internal fault, exit 1)."""
    orig = getattr(exc, "orig", None) or exc
    lines = str(orig).strip().splitlines()
    reason = lines[0] if lines else type(orig).__name__
    lowered = reason.casefold()
    where = shown(target)
    if (getattr(orig, "sqlstate", None) in _PG_READ_ONLY
            or "readonly database" in lowered or "read-only" in lowered):
        return RegisterError(f"the register {where} is read-only ({reason}): nothing was "
                             "recorded; ask for write access, or use a writable copy",
                             "--register")
    if "malformed" in lowered or "not a database" in lowered:
        return RegisterError(f"the register file {where} is unreadable: it is truncated or "
                             f"corrupt ({reason}); restore it from a backup", "--register")
    if "unable to open database file" in lowered:
        return RegisterError(f"cannot open the register {where} ({reason}): check that the "
                             "file and its folder can be read and written", "--register")
    return None


@contextmanager
def register_faults(target: str) -> Iterator[None]:
    """Report a read-only, corrupt or unopenable register as the user's problem (exit 2)."""
    try:
        yield
    except DBAPIError as exc:
        fault = user_fault(exc, target)
        if fault is None:
            raise
        raise fault from exc


def check_readable(engine: Engine, target: str) -> None:
    """Refuse a SQLite register whose file is damaged (SQLite's ``quick_check``), so a run
    does not solve and write its results only to fail when it records them."""
    if engine.dialect.name != "sqlite":
        return
    with register_faults(target), reading(engine) as conn:
        found = [row[0] for row in conn.exec_driver_sql("PRAGMA quick_check")]
    if found != ["ok"]:
        raise RegisterError(f"the register file {target} is unreadable: it is corrupt "
                            f"({found[0] if found else 'no answer'}); restore it from a backup",
                            "--register")


def check_writable(engine: Engine, target: str) -> None:
    """Refuse a register this process cannot write, before any work that would be lost.

    A SQLite file and its folder (where the journal goes) must be writable; then a write is
    tried and rolled back, which also catches a read-only PostgreSQL login or transaction.
    """
    if engine.dialect.name == "sqlite":
        path = Path(engine.url.database or "")
        for what, where in (("file", path), ("folder", path.parent)):
            if not os.access(where, os.W_OK):
                raise RegisterError(f"the register {target} is read-only: its {what} {where} "
                                    "cannot be written; ask for write access, or use a "
                                    "writable copy", "--register")
    with register_faults(target), engine.connect() as conn:
        probe = conn.begin()
        try:
            conn.execute(schema_version.insert().values(version=-1, description="write probe",
                                                        applied_at=now()))
        finally:
            probe.rollback()


@contextmanager
def writing(engine: Engine) -> Iterator[Connection]:
    """One write transaction holding the register's write lock; commits or rolls back whole."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": WRITE_LOCK_KEY})
        yield conn


@contextmanager
def reading(engine: Engine) -> Iterator[Connection]:
    """One read-only transaction: a consistent snapshot that blocks no writer."""
    with engine.connect() as raw:
        conn = raw.execution_options(pdps_read=True)
        with conn.begin():
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, "
                                     "READ ONLY")
            yield conn


def crash_point(name: str) -> None:
    """Kill this process outright if the tests asked for a crash here.

    The crash tests set :data:`CRASH_ENV` to a point's name and check that the register is
    still consistent afterwards; SIGKILL leaves no chance to clean up, like a power cut.
    """
    if os.environ.get(CRASH_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)
