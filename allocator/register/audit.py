"""The append-only audit log: who did what, when, to which record, chained by hashes.

Each row's ``hash`` is the SHA-256 of the previous row's hash and the row's own content, so a
row changed, removed or inserted afterwards breaks the chain, which :func:`verify_chain` finds.
The database also refuses ``UPDATE`` and ``DELETE`` on the table (triggers, migration 2). Rows
are appended inside the transaction that made the change (under the write lock, so the chain
never forks), hence a rolled-back change leaves no audit row and a committed one always has
its row. Details hold ids, roles, codes and counts; never an approval's free-text note.
"""

from __future__ import annotations

import getpass
import hashlib
import json
from typing import Any

from sqlalchemy import Connection, select

from allocator.register.db import now
from allocator.register.schema import audit_log

#: The ``prev_hash`` of the first row.
GENESIS = "0" * 64


def os_user() -> str:
    """The operating-system account running the command, recorded beside the claimed officer."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _digest(prev_hash: str, row: dict[str, Any]) -> str:
    content = json.dumps({k: row[k] for k in ("at", "officer", "os_user", "action", "entity",
                                              "entity_id", "detail")},
                         sort_keys=True, separators=(",", ":"))
    return hashlib.sha256((prev_hash + content).encode("utf-8")).hexdigest()


def append(conn: Connection, *, officer: str, action: str, entity: str, entity_id: Any,
           detail: dict[str, Any] | None = None) -> None:
    """Append one row to the log in the caller's transaction (which holds the write lock)."""
    last = conn.execute(select(audit_log.c.hash).order_by(audit_log.c.id.desc())
                        .limit(1)).scalar_one_or_none()
    row = {"at": now(), "officer": officer, "os_user": os_user(), "action": action,
           "entity": entity, "entity_id": str(entity_id),
           "detail": json.dumps(detail or {}, sort_keys=True, default=str)}
    prev = last or GENESIS
    conn.execute(audit_log.insert().values(**row, prev_hash=prev, hash=_digest(prev, row)))


def verify_chain(conn: Connection) -> list[str]:
    """Every break in the hash chain, as messages; empty when the log is intact."""
    problems = []
    prev = GENESIS
    for row in conn.execute(select(audit_log).order_by(audit_log.c.id)).mappings():
        if row["prev_hash"] != prev:
            problems.append(f"audit row {row['id']}: does not follow the row before it")
        if _digest(row["prev_hash"], dict(row)) != row["hash"]:
            problems.append(f"audit row {row['id']}: content does not match its hash")
        prev = row["hash"]
    return problems
