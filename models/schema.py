"""Table schemas derived from the row models, for validating whole columns at once.

A :class:`ColumnSpec` says what the vectorised readers need: the kind of value, whether the
column is required, its default, its range, the code list it draws from and whether it is
personal data. Deriving the specs from :mod:`models.records` keeps one source of truth.
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass
from datetime import date
from enum import Enum
from functools import cache
from typing import Any, Literal

from annotated_types import Ge, Gt, Le, MinLen
from pydantic.fields import FieldInfo

from models.codes import CodeEnum
from models.records import ROW_MODELS, ColumnNote

Kind = Literal["text", "date", "bool", "int", "float", "code", "code_list", "text_list"]


@dataclass(frozen=True)
class ColumnSpec:
    """What one contract column holds and how it is checked."""

    name: str
    kind: Kind
    required: bool
    default: Any = None
    codes: type[CodeEnum] | None = None
    ge: float | None = None
    le: float | None = None
    min_items: int = 0
    sensitive: bool = False
    money: bool = False

    def expected(self) -> str:
        """A short phrase for messages: what a valid cell looks like."""
        if self.kind == "code" and self.codes is not None:
            return "one of " + ", ".join(self.codes.values())
        if self.kind == "code_list" and self.codes is not None:
            return "a ';'-separated list of " + ", ".join(self.codes.values())
        return {
            "text": "text",
            "date": "a date written YYYY-MM-DD",
            "bool": "true/false, yes/no, y/n or 1/0",
            "int": "a whole number",
            "float": "a number",
            "text_list": "a ';'-separated list",
        }.get(self.kind, self.kind)


@dataclass(frozen=True)
class TableSchema:
    role: str
    columns: tuple[ColumnSpec, ...]

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def __getitem__(self, name: str) -> ColumnSpec:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(name)


def _strip_optional(annotation: Any) -> Any:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return annotation


def _column(name: str, field: FieldInfo) -> ColumnSpec:
    annotation = _strip_optional(field.annotation)
    metadata = list(field.metadata)
    if typing.get_origin(annotation) is typing.Annotated:
        base, *extra = typing.get_args(annotation)
        metadata += extra
        annotation = base
    codes: type[CodeEnum] | None = None
    kind: Kind
    if typing.get_origin(annotation) is list:
        (item,) = typing.get_args(annotation)
        if isinstance(item, type) and issubclass(item, Enum):
            kind, codes = "code_list", item
        else:
            kind = "text_list"
    elif isinstance(annotation, type) and issubclass(annotation, CodeEnum):
        kind, codes = "code", annotation
    elif annotation is bool:
        kind = "bool"
    elif annotation is int:
        kind = "int"
    elif annotation is float:
        kind = "float"
    elif annotation is date:
        kind = "date"
    elif annotation is str:
        kind = "text"
    else:  # pragma: no cover - a new column type needs a reader before it can be used
        raise TypeError(f"no table reader for column {name!r} of type {annotation!r}")
    ge = le = None
    min_items = 0
    note = ColumnNote()
    for item in metadata:
        if isinstance(item, Ge):
            ge = float(item.ge)
        elif isinstance(item, Gt):
            ge = float(item.gt)
        elif isinstance(item, Le):
            le = float(item.le)
        elif isinstance(item, MinLen):
            min_items = int(item.min_length)
        elif isinstance(item, ColumnNote):
            note = item
        elif isinstance(item, FieldInfo):
            for sub in item.metadata:
                if isinstance(sub, Ge):
                    ge = float(sub.ge)
                elif isinstance(sub, Le):
                    le = float(sub.le)
                elif isinstance(sub, MinLen):
                    min_items = int(sub.min_length)
    default = None if field.is_required() else field.get_default(call_default_factory=True)
    if isinstance(default, Enum):
        default = default.value
    if kind == "text":
        min_items = 0
    return ColumnSpec(
        name=name, kind=kind, required=field.is_required(), default=default, codes=codes,
        ge=ge, le=le, min_items=min_items, sensitive=note.sensitive, money=note.money,
    )


@cache
def table_schema(role: str) -> TableSchema:
    """The schema of one contract table (``referrals``, ``units``, ``offers``, ``conflicts``)."""
    model = ROW_MODELS[role]
    return TableSchema(role, tuple(_column(n, f) for n, f in model.model_fields.items()))


TABLE_ROLES: tuple[str, ...] = tuple(ROW_MODELS)
