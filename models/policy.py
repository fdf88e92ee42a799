"""The council's policy (contract section 6): rules, weights, fallbacks and solver settings.

Every key has the contract's default and a policy file overrides only what it names, at any
depth (``weights: {quality: {good: 10}}`` leaves every other weight alone). Unknown keys are
an error, because a misspelt weight that silently keeps its default would change placements
without anyone noticing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from models.codes import PlaceCode, Route, Setting
from models.limits import MAX_MILES, MAX_PLACES, MAX_POUNDS, MAX_SEED


def _a_number(value: Any) -> Any:
    """Refuse ``true``/``yes`` and quoted text where a number belongs.

    Pydantic's lax mode reads YAML's ``yes`` as 1 and ``'26'`` as 26: a policy with
    ``unplaced: yes`` silently priced leaving a child unplaced at £1 and left everyone
    unplaced. A number written as a number is still read as before (``26.0`` as 26).
    """
    if isinstance(value, bool | str | bytes):
        kind = "true/false" if isinstance(value, bool) else "text"
        raise ValueError(f"must be a number, not {kind}")
    return value


Number = BeforeValidator(_a_number)
#: Pounds (a week, a mile or a point): finite, and capped so whole-pence sums cannot overflow.
NonNegative = Annotated[float, Number, Field(ge=0, le=MAX_POUNDS, allow_inf_nan=False)]
#: A distance threshold: any non-negative number, infinity meaning "no limit" as before.
Threshold = Annotated[float, Number, Field(ge=0)]
#: A distance that is costed: finite, and no further than the far side of the Earth.
CostedMiles = Annotated[float, Number, Field(ge=0, le=MAX_MILES, allow_inf_nan=False)]


class StrictModel(BaseModel):
    """Frozen, and unknown keys rejected."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class QualityWeights(StrictModel):
    """£ per week added for a unit's Ofsted rating."""

    outstanding: NonNegative = 0
    good: NonNegative = 0
    requires_improvement: NonNegative = 250
    not_yet_inspected: NonNegative = 100
    inadequate: NonNegative = 0


class RouteWeights(StrictModel):
    """£ per week added for the purchasing route, favouring in-house and PDPS over fallbacks."""

    in_house: NonNegative = 0
    pdps: NonNegative = 0
    lcr: NonNegative = 350
    regional: NonNegative = 600
    spot: NonNegative = 1200


class Weights(StrictModel):
    distance_per_mile: NonNegative = 10
    out_of_area: NonNegative = 150
    at_distance: NonNegative = 400
    school_move_ks4: NonNegative = 500
    quality: QualityWeights = QualityWeights()
    route: RouteWeights = RouteWeights()
    offer_quality_point: NonNegative = 0
    sibling_split: NonNegative = 2000
    unplaced: NonNegative = 100000


class Rules(StrictModel):
    max_distance_miles: Threshold | None = None
    inadequate: Literal["exclude", "allow"] = "exclude"
    requires_improvement: Literal["allow", "exclude"] = "allow"
    #: Never relaxable: the 2021 ban on unregulated settings for children under 16.
    under_16_supported: Literal["forbid"] = "forbid"
    school_move_miles: Threshold = 10
    planned_window_days: Annotated[int, Number, Field(ge=0)] = 28


class PlaceCodes(StrictModel):
    """SSDA903 ``PLACE`` reported for each setting."""

    foster: PlaceCode = PlaceCode.U6
    residential: PlaceCode = PlaceCode.K2
    supported: PlaceCode = PlaceCode.H5
    parent_child: PlaceCode = PlaceCode.R3


class StaffingAddon(StrictModel):
    """Weekly add-on for enhanced staffing where a unit gives no price of its own."""

    one_to_one: NonNegative = Field(1800, alias="1:1")
    two_to_one: NonNegative = Field(3600, alias="2:1")
    three_to_one: NonNegative = Field(5400, alias="3:1")

    def for_level(self, staffing: str) -> float:
        return {"standard": 0.0, "1:1": self.one_to_one, "2:1": self.two_to_one,
                "3:1": self.three_to_one}[staffing]


class Fallback(StrictModel):
    """An aggregate purchasing system (LCR, regional) that finds a provider when no unit fits."""

    route: Route
    setting: Setting
    weekly_price: NonNegative
    distance_miles: CostedMiles
    capacity: Annotated[int, Number, Field(ge=0, le=MAX_PLACES)] | None = None

    @property
    def option(self) -> str:
        """The option label used in outputs, ``fallback:<route>:<setting>``."""
        return f"fallback:{self.route.value}:{self.setting.value}"


class SolverSettings(StrictModel):
    time_limit_s: Annotated[float, Number, Field(gt=0, allow_inf_nan=False)] = 30
    seed: Annotated[int, Number, Field(ge=0, le=MAX_SEED)] = 0
    workers: Annotated[int, Number, Field(ge=1)] = 2
    #: Relative gap at which to stop (an extension of the contract): 0 proves optimality;
    #: 0.001 accepts an allocation proven within 0.1% of the best, for national studies.
    gap: Annotated[float, Number, Field(ge=0, lt=1)] = 0.0


def _default_fallbacks() -> tuple[Fallback, ...]:
    return (
        Fallback(route=Route.LCR, setting=Setting.RESIDENTIAL, weekly_price=5200,
                 distance_miles=30, capacity=None),
        Fallback(route=Route.REGIONAL, setting=Setting.FOSTER, weekly_price=980,
                 distance_miles=35, capacity=None),
    )


class Policy(StrictModel):
    """The council's rules and weights; ``Policy()`` is the contract's default policy."""

    home_authority: str = "Sefton"
    adjoining_authorities: tuple[str, ...] = ("Liverpool", "Knowsley", "West Lancashire")
    horizon_weeks: Annotated[int, Number, Field(ge=1)] = 26
    weights: Weights = Weights()
    rules: Rules = Rules()
    place_codes: PlaceCodes = PlaceCodes()
    default_staffing_addon: StaffingAddon = StaffingAddon()
    therapy_addon: NonNegative = 450
    fallbacks: tuple[Fallback, ...] = Field(default_factory=_default_fallbacks)
    solver: SolverSettings = SolverSettings()

    @field_validator("home_authority")
    @classmethod
    def _named(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("home_authority must name a local authority")
        return value.strip()

    @model_validator(mode="after")
    def _distinct_fallbacks(self) -> Policy:
        labels = [f.option for f in self.fallbacks]
        if len(set(labels)) != len(labels):
            raise ValueError("two fallbacks share one route and setting; merge them into one")
        return self

    def as_applied(self) -> dict[str, Any]:
        """The policy with every default filled in, as written to ``manifest.json``."""
        return self.model_dump(mode="json", by_alias=True)


class PolicyError(ValueError):
    """A policy file that cannot be used, with one line per problem naming the key."""

    def __init__(self, path: str, problems: list[str]):
        self.path = path
        self.problems = problems
        super().__init__(f"{path}: " + "; ".join(problems))


def load_policy(path: str | Path | None) -> Policy:
    """Read a policy YAML file (or return the default policy when ``path`` is None)."""
    if path is None:
        return Policy()
    import yaml

    from models.yamltext import load_yaml, yaml_problem

    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise PolicyError(str(path), ["not UTF-8 text: save the policy file as UTF-8"]) from None
    except OSError as exc:  # found in review: no read permission was an internal fault
        raise PolicyError(str(path), [f"cannot read this file "
                                      f"({exc.strerror or type(exc).__name__})"]) from None
    try:
        raw = load_yaml(text)
    except yaml.YAMLError as exc:
        raise PolicyError(str(path), [yaml_problem(exc)]) from None
    return parse_policy({} if raw is None else raw, str(path))


def parse_policy(raw: object, label: str = "policy") -> Policy:
    """Validate a policy mapping; raise :class:`PolicyError` naming every bad key."""
    from pydantic import ValidationError

    if not isinstance(raw, dict):
        raise PolicyError(label, ["the file must be a mapping of policy keys"])
    try:
        return Policy.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            key = ".".join(str(p) for p in err["loc"]) or "(top level)"
            message = ("unknown key" if err["type"] == "extra_forbidden"
                       else err["msg"].removeprefix("Value error, "))
            problems.append(f"{key}: {message}")
        raise PolicyError(label, problems) from None
