"""One row of each input table (contract sections 1-4) as a pydantic model.

These models are the single statement of each column's type, default and range: the table
schemas in :mod:`models.schema` are derived from them, so the whole-column readers and a
single record built in a notebook can never disagree about what is valid.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from models.codes import (
    CategoryOfNeed,
    LegalStatus,
    NeedCode,
    OfstedRating,
    Ownership,
    Route,
    Setting,
    Sex,
    Staffing,
    UnitSexes,
    Urgency,
)
from models.limits import MAX_AGE, MAX_POUNDS


@dataclass(frozen=True)
class ColumnNote:
    """Column facts pydantic has no word for.

    ``sensitive`` columns are personal data (a date of birth, a home location): their values
    are never echoed in messages. ``money`` columns accept ``£`` and thousands separators, as
    spreadsheets write them.
    """

    sensitive: bool = False
    money: bool = False


SENSITIVE = ColumnNote(sensitive=True)
MONEY = ColumnNote(money=True)

Id = Annotated[str, Field(min_length=1)]
Money = Annotated[float, Field(ge=0, le=MAX_POUNDS), MONEY]
Latitude = Annotated[float, Field(ge=-90, le=90), SENSITIVE]
Longitude = Annotated[float, Field(ge=-180, le=180), SENSITIVE]
Miles = Annotated[float, Field(ge=0)]
Count = Annotated[int, Field(ge=0)]


class ContractRow(BaseModel):
    """A row of a contract table: unknown columns rejected, ``;``-lists accepted as text."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    @field_validator("*", mode="before")
    @classmethod
    def _split_lists(cls, value: Any, info: Any) -> Any:
        field = cls.model_fields[info.field_name]
        if isinstance(value, str) and "list" in str(field.annotation):
            return [v.strip() for v in value.split(";") if v.strip()]
        if isinstance(value, str) and not value.strip() and not field.is_required():
            return field.get_default(call_default_factory=True)
        return value


class Referral(ContractRow):
    """A child waiting for a placement, known only by a pseudonymous id."""

    child_id: Id
    date_of_birth: Annotated[date, SENSITIVE]
    sex: Sex
    settings: Annotated[list[Setting], Field(min_length=1)]
    needs: Annotated[list[NeedCode], SENSITIVE] = []
    staffing: Staffing = Staffing.STANDARD
    therapy_need: bool = False
    home_lat: Latitude
    home_lon: Longitude
    school_lat: Latitude | None = None
    school_lon: Longitude | None = None
    key_stage_4: bool = False
    urgency: Urgency = Urgency.PLANNED
    referral_date: date | None = None
    sibling_group: str | None = None
    keep_together: bool | None = None
    max_distance_miles: Miles | None = None
    min_distance_miles: Miles = 0
    avoid_authorities: list[str] = []
    expected_weeks: Annotated[int, Field(ge=1)] | None = None
    legal_status: Annotated[LegalStatus | None, SENSITIVE] = None
    category_of_need: Annotated[CategoryOfNeed | None, SENSITIVE] = None


class Unit(ContractRow):
    """A placement unit: a children's home, a foster household, a supported flat."""

    unit_id: Id
    provider_id: Id
    provider_name: Id
    setting: Setting
    route: Route
    ownership: Ownership = Ownership.PR4
    lots: list[str] = []
    admitted_date: date | None = None
    local_authority: Id
    lat: Annotated[float, Field(ge=-90, le=90)]
    lon: Annotated[float, Field(ge=-180, le=180)]
    ofsted_urn: str | None = None
    ofsted_rating: OfstedRating = OfstedRating.NOT_YET_INSPECTED
    # The contract says only "int": a unit for care leavers may give 99 for "no upper age"
    # (found in review: it was refused above 25). Beyond a lifetime is a slip.
    age_min: Annotated[int, Field(ge=0, le=MAX_AGE)] = 0
    age_max: Annotated[int, Field(ge=0, le=MAX_AGE)] = 17
    sexes: UnitSexes = UnitSexes.ANY
    needs_supported: list[NeedCode] = []
    vacancies: Count
    staff_capacity: Count = 0
    accepts_emergency: bool = False
    available_from: date | None = None
    weekly_price: Money
    price_1to1: Money | None = None
    price_2to1: Money | None = None
    price_3to1: Money | None = None
    therapeutic: bool = False
    max_new_admissions: Count | None = None


class Offer(ContractRow):
    """A provider's all-in price for one child in one unit, from a call-off."""

    child_id: Id
    unit_id: Id
    weekly_price: Money
    quality_score: Annotated[float, Field(ge=0, le=100)] | None = None
    capacity_use: Annotated[int, Field(ge=1)] = 1


class Conflict(ContractRow):
    """Two children who must not share a unit (they may share a fallback)."""

    child_a: Id
    child_b: Id
    reason: str | None = None


#: The contract's tables, by the role name used in messages, Excel sheet names and the CLI.
ROW_MODELS: dict[str, type[ContractRow]] = {
    "referrals": Referral,
    "units": Unit,
    "offers": Offer,
    "conflicts": Conflict,
}
