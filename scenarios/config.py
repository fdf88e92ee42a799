"""Scenario files: a market, a policy, a demand model and interventions, validated strictly.

A scenario is what a planner writes to ask "what if": the base market (a units file, or the
seeded synthetic market), the council's policy, how long to simulate and how many times, the
demand (calibrated by default to ``../shared/domain.md`` and scaled to the council's number of
looked-after children) and the changes to make from given weeks. Every model forbids unknown
keys, because a misspelt key that silently kept its default would answer a different question
than the one asked; :func:`load_scenario` reports every bad key with the file it is in, as an
:class:`~allocator.issues.InputError` the CLI turns into exit status 2.
"""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from allocator.issues import InputError, Issue
from models.codes import NeedCode, OfstedRating, Route, Setting
from models.limits import outside_run_days
from models.policy import Policy, PolicyError, load_policy, parse_policy
from scenarios import calibration as cal
from scenarios.geography import TOWN_INDEX
from scenarios.limits import (
    LONGEST_PLACEMENT_WEEKS,
    MAX_ARRIVALS_PER_WEEK,
    MAX_CHILDREN,
    MAX_UNITS,
)

Positive = Annotated[float, Field(gt=0)]
NonNegative = Annotated[float, Field(ge=0)]
Share = Annotated[float, Field(ge=0, le=1)]
Week = Annotated[int, Field(ge=0)]
SETTINGS: tuple[str, ...] = tuple(Setting.values())

#: A change of demand may multiply arrivals by at most this much: arrivals are drawn once at
#: this multiple of the base rate and thinned (docs/scenarios.md, common random numbers).
MAX_DEMAND_FACTOR = 3.0


class Strict(BaseModel):
    """Frozen, unknown keys rejected."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class DemoMarket(Strict):
    """The seeded synthetic North West market of ``pdps demo-data`` (docs/data.md)."""

    units: Annotated[int, Field(ge=1, le=MAX_UNITS)] = 400
    seed: Annotated[int, Field(ge=0)] = 2026


class Market(Strict):
    """Where the places come from: a units file (contract section 2) or the demo market."""

    units: str | None = None
    demo: DemoMarket | None = None

    @model_validator(mode="after")
    def _one_source(self) -> Market:
        if (self.units is None) == (self.demo is None):
            raise ValueError("give exactly one of market.units (a file) or market.demo")
        return self


class Duration(Strict):
    """A placement's length in weeks: lognormal with this median and log spread."""

    median_weeks: Annotated[float, Field(gt=0, le=LONGEST_PLACEMENT_WEEKS)]
    spread: Annotated[float, Field(ge=0, le=3)] = 0.8


class Pool(Strict):
    """The calibrated children arrivals are drawn from (the demo referral generator)."""

    children: Annotated[int, Field(ge=100, le=MAX_CHILDREN)] = 5000
    seed: Annotated[int, Field(ge=0)] = 2026


def _default_durations() -> dict[str, Duration]:
    return {Setting(s): Duration(median_weeks=w, spread=v)
            for s, (w, v) in cal.PLACEMENT_WEEKS.items()}


class Demand(Strict):
    """Who arrives each week, for how long they stay, and how often placements break down.

    Defaults are calibrated to DfE 2024 (entries per looked-after child, placement changes
    and their reasons) and scaled by ``looked_after``; see docs/scenarios.md for each source.
    """

    looked_after: Annotated[int, Field(ge=1, le=MAX_CHILDREN)] = cal.LOOKED_AFTER
    entries_per_child_year: NonNegative = cal.ENTRIES_PER_CHILD_YEAR
    arrivals_per_week: dict[Setting, Annotated[float, Field(
        ge=0, le=MAX_ARRIVALS_PER_WEEK)]] | None = None
    #: Need profile: a pool child is drawn with weight the product of these factors over
    #: its needs (``{SEMH: 1.5}``: children with SEMH half as likely again), within its
    #: setting profile.
    need_weights: dict[NeedCode, Annotated[float, Field(ge=0, le=100)]] = Field(
        default_factory=dict)
    emergency_share: Share = cal.EMERGENCY_SHARE
    durations: dict[Setting, Duration] = Field(default_factory=_default_durations)
    breakdown_per_week: Share = cal.BREAKDOWN_PER_WEEK
    waiting_cost: dict[Setting, NonNegative] = Field(
        default_factory=lambda: {Setting(s): v for s, v in cal.WAITING_COST.items()})
    pool: Pool = Pool()

    @model_validator(mode="after")
    def _every_setting(self) -> Demand:
        for name in ("durations", "waiting_cost"):
            missing = [s for s in SETTINGS if s not in getattr(self, name)]
            if missing:
                raise ValueError(f"{name} must give every setting; missing {missing}")
        return self

    @model_validator(mode="after")
    def _bounded(self) -> Demand:
        """Arrivals and the children in care at the start, within :mod:`scenarios.limits`."""
        if self.arrivals_per_week is not None:
            weekly, keys = sum(self.arrivals_per_week.values()), "arrivals_per_week"
        else:
            weekly = self.looked_after * self.entries_per_child_year / 52.0
            keys = "looked_after x entries_per_child_year / 52"
        if weekly > MAX_ARRIVALS_PER_WEEK:
            raise ValueError(f"{keys} gives {weekly:,.0f} arrivals a week; at most "
                             f"{MAX_ARRIVALS_PER_WEEK:,}")
        # The start's stock is arrivals x mean length by setting (demand.draw_stock); without
        # arrivals_per_week the split follows the pool, so the longest mean bounds it.
        mean = {s: d.median_weeks * math.exp(d.spread ** 2 / 2)
                for s, d in self.durations.items()}
        if self.arrivals_per_week is not None:
            stock = sum(rate * mean[s] for s, rate in self.arrivals_per_week.items())
        else:
            stock = weekly * max(mean.values())
        if stock > MAX_CHILDREN:
            raise ValueError(f"{keys} with these durations would put about {stock:,.0f} "
                             f"children in care at once (arrivals a week x mean weeks); at "
                             f"most {MAX_CHILDREN:,}")
        return self


class Intervention(Strict):
    """A change from week ``week`` of the horizon (0 = its first week) onwards."""

    week: Week = 0


class AddUnits(Intervention):
    """Commission ``count`` new units of ``places`` each, at a town (or a point)."""

    type: Literal["add_units"]
    count: Annotated[int, Field(ge=1, le=1000)]
    setting: Setting
    place: str | None = None
    lat: float | None = None
    lon: float | None = None
    local_authority: str | None = None
    needs: tuple[NeedCode, ...] = ()
    price: NonNegative
    route: Route = Route.IN_HOUSE
    places: Annotated[int, Field(ge=1, le=50)] = 1
    provider: str | None = None
    ofsted_rating: OfstedRating = OfstedRating.NOT_YET_INSPECTED
    age_min: Annotated[int, Field(ge=0, le=25)] | None = None
    age_max: Annotated[int, Field(ge=0, le=25)] | None = None
    sexes: Literal["M", "F", "any"] = "any"
    accepts_emergency: bool = False
    staff_capacity: Annotated[int, Field(ge=0)] = 0
    therapeutic: bool = False

    @model_validator(mode="after")
    def _located(self) -> AddUnits:
        if self.place is not None:
            if self.place not in TOWN_INDEX:
                raise ValueError(f"place {self.place!r} is not a known town; known towns: "
                                 f"{', '.join(sorted(TOWN_INDEX))}")
        elif None in (self.lat, self.lon, self.local_authority):
            raise ValueError("give a place (a town) or lat, lon and local_authority")
        return self


class SuspendProvider(Intervention):
    """No new placements with a provider (its children stay)."""

    type: Literal["suspend_provider"]
    provider: str


class RemoveProvider(Intervention):
    """A provider leaves: no new placements, and its children must move (they re-queue)."""

    type: Literal["remove_provider"]
    provider: str


class ChangePrices(Intervention):
    """Multiply prices of units (and fallbacks) of a route and/or setting, placed or new."""

    type: Literal["change_prices"]
    route: Route | None = None
    setting: Setting | None = None
    factor: Annotated[float, Field(gt=0, le=10)]


class ChangeFallback(Intervention):
    """Change a fallback's weekly capacity (new children a week) or its price."""

    type: Literal["change_fallback"]
    route: Route
    setting: Setting
    capacity: Annotated[int, Field(ge=0)] | None = None
    weekly_price: NonNegative | None = None
    unlimited: bool = False


class ChangeDemand(Intervention):
    """Multiply arrivals (of one setting profile, or all) by ``factor``."""

    type: Literal["change_demand"]
    setting: Setting | None = None
    factor: Annotated[float, Field(ge=0, le=MAX_DEMAND_FACTOR)]


AnyIntervention = Annotated[AddUnits | SuspendProvider | RemoveProvider | ChangePrices
                            | ChangeFallback | ChangeDemand, Field(discriminator="type")]


class Scenario(Strict):
    """One scenario file. ``policy`` is a policy file (relative to this file) or a mapping."""

    name: str
    description: str = ""
    as_of: date = date(2026, 11, 25)
    market: Market
    policy: str | dict[str, Any] | None = None
    horizon_weeks: Annotated[int, Field(ge=1, le=520)] = 52
    warmup_weeks: Annotated[int, Field(ge=0, le=520)] = 26
    replications: Annotated[int, Field(ge=1, le=100_000)] = 100
    seed: Annotated[int, Field(ge=0)] = 0
    demand: Demand = Demand()
    interventions: tuple[AnyIntervention, ...] = ()

    @field_validator("as_of")
    @classmethod
    def _supported_date(cls, value: date) -> date:
        """The run dates ``pdps allocate --as-of`` supports (allocator.validate)."""
        if (outside := outside_run_days(value)) is not None:
            raise ValueError(outside)
        return value

    @model_validator(mode="after")
    def _within_the_horizon(self) -> Scenario:
        """Found in review: an intervention at week 99 of a 2-week horizon was accepted, and
        the comparison then showed no effect from a change that never happened."""
        for k, change in enumerate(self.interventions):
            if change.week >= self.horizon_weeks:
                raise ValueError(f"interventions.{k}.{change.type}.week: week {change.week} is "
                                 f"past the horizon (weeks 0 to {self.horizon_weeks - 1}), so "
                                 "the change would never take effect")
        return self

    #: Folder that relative paths in the file are read from (not a key of the file).
    base_dir: Path = Field(default=Path("."), exclude=True)

    def units_path(self) -> Path | None:
        if self.market.units is None:
            return None
        path = Path(self.market.units)
        return path if path.is_absolute() else self.base_dir / path

    def policy_object(self, label: str = "policy") -> Policy:
        """The policy as applied: raises :class:`InputError` naming the bad key."""
        try:
            if self.policy is None:
                return Policy()
            if isinstance(self.policy, dict):
                return parse_policy(self.policy, label)
            path = Path(self.policy)
            path = path if path.is_absolute() else self.base_dir / path
            if not path.is_file():
                raise InputError([Issue(str(path), None, None, "policy file not found",
                                        "scenario")])
            return load_policy(path)
        except PolicyError as exc:
            raise InputError([Issue(exc.path, None, None, p, "scenario")
                              for p in exc.problems]) from None

    def with_changes(self, **changes: Any) -> Scenario:
        """A copy with some keys replaced (replications, seed, interventions...)."""
        return self.model_copy(update=changes)


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario YAML file.

    Raises
    ------
    InputError
        With one issue per problem, each naming the file and the key (``interventions.1.
        add_units.colour: unknown key``), so the CLI exits 2 without a traceback.
    """
    file = Path(path)
    label = str(path)
    if not file.is_file():
        raise InputError([Issue(label, None, None, "scenario file not found", "scenario")])
    return parse_scenario(read_yaml(file, label), label, file.resolve().parent)


def read_yaml(file: Path, label: str) -> Any:
    """A hand-written YAML file's contents; unreadable text is an :class:`InputError`.

    Read by :func:`models.yamltext.load_yaml`, which keeps a date that does not exist
    (``as_of: 2026-02-30``) as the text written, so that validation names its key.
    """
    import yaml

    from models.yamltext import load_yaml, yaml_problem

    try:
        return load_yaml(file.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise InputError([Issue(label, None, None, "not UTF-8 text", "scenario")]) from None
    except yaml.YAMLError as exc:
        raise InputError([Issue(label, None, None, yaml_problem(exc), "scenario")]) from None
    except OSError as exc:
        raise InputError([Issue(label, None, None, f"cannot be read ({exc.strerror})",
                                "scenario")]) from None


def parse_scenario(raw: object, label: str = "scenario", base_dir: Path | None = None
                   ) -> Scenario:
    """Validate a scenario mapping (as read from YAML) and check its policy too."""
    if not isinstance(raw, dict):
        raise InputError([Issue(label, None, None, "a scenario file must be a mapping of keys",
                                "scenario")])
    if "base_dir" in raw:
        raise InputError([Issue(label, None, "base_dir", "unknown key", "scenario")])
    try:
        scenario = Scenario.model_validate({**raw, "base_dir": base_dir or Path(".")})
    except ValidationError as exc:
        raise InputError(validation_issues(exc, label)) from None
    scenario.policy_object(label)  # a bad policy is an input error now, not mid-run
    return scenario


def validation_issues(exc: ValidationError, label: str) -> list[Issue]:
    """One issue per pydantic error, naming the file and the dotted key."""
    issues = []
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"]) or None
        message = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
        message = message.removeprefix("Value error, ")
        issues.append(Issue(label, None, key, message, "scenario"))
    return issues
