"""The scheme of delegation: which named officers may decide for which role, and when.

The Cabinet decision delegates call-offs to the Executive Director of Children's Social Care
and Education; the care planning regulations give approvals to a nominated officer and the
Director of Children's Services; the Executive Director of Adult Social Care and Health
authorises costs that reach adult budgets. The council writes who holds each role in a YAML
file (example: ``allocator/register/examples/delegation.yaml``), loads it into the register
with ``pdps register delegation FILE``, and every approval is checked against the scheme in
force. Unknown keys and unknown roles are errors: a misspelt role must not silently grant or
withhold authority.
"""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path
from typing import Annotated

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from allocator.issues import InputError, Issue
from allocator.register.roles import ROLES
from models.yamltext import load_yaml, yaml_problem

Role = Annotated[str, Field(pattern="^(" + "|".join(ROLES) + ")$")]


class Officer(BaseModel):
    """A named officer and the roles delegated to them, optionally for a period."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    name: Annotated[str, Field(min_length=1)]
    title: str | None = None
    roles: Annotated[list[Role], Field(min_length=1)]
    valid_from: date | None = None
    valid_until: date | None = None

    @model_validator(mode="after")
    def _a_period(self) -> Officer:
        """Found in review: ``valid_until`` before ``valid_from`` was accepted, and the officer
        then held no role on any day, without a word to the council that loaded it."""
        if self.valid_from and self.valid_until and self.valid_until < self.valid_from:
            raise ValueError(f"valid_until {self.valid_until} is before valid_from "
                             f"{self.valid_from}: the officer would hold no role on any day")
        return self

    def holds(self, role: str, on: date) -> bool:
        """Whether this officer may decide for ``role`` on ``on``."""
        if role not in self.roles:
            return False
        if self.valid_from is not None and on < self.valid_from:
            return False
        return self.valid_until is None or on <= self.valid_until


class Scheme(BaseModel):
    """A scheme of delegation: the authority, when it was approved, and its officers."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    authority: Annotated[str, Field(min_length=1)]
    approved_on: date | None = None
    officers: Annotated[list[Officer], Field(min_length=1)]

    @model_validator(mode="after")
    def _unique_names(self) -> Scheme:
        names = [o.name.casefold() for o in self.officers]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"officer named more than once: {', '.join(repeated)}")
        return self

    def officer(self, name: str) -> Officer | None:
        """The officer of that name (case-insensitive), or None."""
        wanted = name.strip().casefold()
        return next((o for o in self.officers if o.name.casefold() == wanted), None)

    def holders(self, role: str, on: date) -> list[str]:
        """Names of the officers who may decide for ``role`` on ``on``."""
        return [o.name for o in self.officers if o.holds(role, on)]


def read_scheme(path: str | Path) -> tuple[str, Scheme]:
    """A scheme file's text and the scheme it validates as; exit 2 naming the file when it
    cannot be read, is not UTF-8 text, or is not a valid scheme."""
    try:
        source = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InputError([Issue(str(path), None, None, "is not UTF-8 text (byte "
                                f"{exc.object[exc.start]:#04x} at position {exc.start}): "
                                "save it as UTF-8", "file")]) from None
    except OSError as exc:
        raise InputError([Issue(str(path), None, None,
                                f"cannot read: {exc.strerror or type(exc).__name__}",
                                "file")]) from None
    return source, parse_scheme(source, str(path))


def parse_scheme(source: str, label: str = "delegation") -> Scheme:
    """Parse and validate a scheme's YAML text; every problem raised at once, exit 2."""
    try:
        data = load_yaml(source)
    except yaml.YAMLError as exc:
        raise InputError([Issue(label, None, None, yaml_problem(exc), "format")]) from exc
    if not isinstance(data, dict):
        raise InputError([Issue(label, None, None, "expected a mapping with `authority` and "
                                "`officers`", "format")])
    try:
        return Scheme.model_validate(data)
    except ValidationError as exc:
        issues = []
        for error in exc.errors():
            where = ".".join(str(p) for p in error["loc"]) or None
            message = error["msg"]
            if error["type"] == "string_pattern_mismatch":
                message = f"unknown role; roles are {', '.join(ROLES)}"
            issues.append(Issue(label, None, where, message, "value"))
        raise InputError(issues) from exc


def source_hash(source: str) -> str:
    """SHA-256 of the scheme's text, recorded with each load and in approvals' audit rows."""
    return hashlib.sha256(source.encode("utf-8")).hexdigest()

