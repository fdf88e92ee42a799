"""Every registered cross check, fed input that breaks it (and input that only nearly does).

:data:`CASES` is the table of cases by :class:`~allocator.crosschecks.CrossCheck` code.
``test_every_cross_check_has_a_case`` walks the registry, so a new rule added without a case
here fails the suite.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from allocator.crosschecks import CROSS_CHECKS
from allocator.issues import Issue

CollectIssues = Callable[..., list[Issue]]
Tables = dict[str, pd.DataFrame]
#: (table, spreadsheet row, column, message, severity, rule)
Expected = tuple[str, int, str, str, str, str]


def cell(role: str, index: int, column: str, value: str) -> Callable[[Tables], None]:
    """An edit: set one cell (data row ``index``, so spreadsheet row ``index + 2``)."""

    def edit(tables: Tables) -> None:
        tables[role].loc[index, column] = value

    return edit


def copy_row(role: str, index: int, **changes: str) -> Callable[[Tables], None]:
    """An edit: append a copy of a row, with some cells changed."""

    def edit(tables: Tables) -> None:
        frame = tables[role]
        row = frame.loc[[index]].assign(**changes)
        tables[role] = pd.concat([frame, row], ignore_index=True)

    return edit


@dataclass(frozen=True)
class Case:
    name: str
    edits: tuple[Callable[[Tables], None], ...]
    expected: tuple[Expected, ...]
    #: Tables given besides referrals and units.
    also: tuple[str, ...] = ()
    as_of: date = field(default=date(2026, 11, 25))


ADULT = ("aged 18 or over at --as-of: only units whose age_max allows it (or a fallback) can "
         "take this referral")
UNDER_16 = ("'supported' is never allowed for a child under 16 (2021 ban on unregulated "
            "settings); only the other settings will be considered")
NO_SHARED = ("sibling group 'S1' is kept together but its members share no setting, so it can "
             "only be left unplaced")
RESERVED = ("'unplaced' and ids starting 'fallback:' name the other options in "
            "allocation.csv: give this unit another id")
AUTHORITY = "an avoided authority matches no unit's local_authority: check the spelling"

CASES: dict[str, list[Case]] = {
    "duplicate_child_id": [
        Case("repeated id", (cell("referrals", 3, "child_id", "C001"),),
             (("referrals", 5, "child_id", "duplicate child_id: the same id is on row 2",
               "error", "duplicate_child_id"),)),
        Case("three times", (cell("referrals", 2, "child_id", "C002"),
                             cell("referrals", 3, "child_id", "C002")),
             (("referrals", 4, "child_id", "duplicate child_id: the same id is on row 3",
               "error", "duplicate_child_id"),
              ("referrals", 5, "child_id", "duplicate child_id: the same id is on row 3",
               "error", "duplicate_child_id"))),
        Case("ids differ only in case", (cell("referrals", 3, "child_id", "c001"),), ()),
    ],
    "duplicate_unit_id": [
        Case("repeated id", (cell("units", 2, "unit_id", "U01"),),
             (("units", 4, "unit_id", "duplicate unit_id: the same id is on row 2", "error",
               "duplicate_unit_id"),)),
    ],
    "reserved_unit_id": [
        Case("unplaced", (cell("units", 2, "unit_id", "unplaced"),),
             (("units", 4, "unit_id", RESERVED, "error", "reserved_unit_id"),)),
        Case("a fallback's name, in capitals",
             (cell("units", 0, "unit_id", "FALLBACK:regional:foster"),),
             (("units", 2, "unit_id", RESERVED, "error", "reserved_unit_id"),)),
        Case("a name that only contains them", (cell("units", 2, "unit_id", "U-unplaced"),
                                                cell("units", 1, "unit_id", "fallback")), ()),
    ],
    "impossible_age": [
        Case("born after --as-of", (cell("referrals", 1, "date_of_birth", "2026-11-26"),),
             (("referrals", 3, "date_of_birth", "date of birth is after --as-of", "error",
               "impossible_age"),)),
        Case("born on --as-of", (cell("referrals", 1, "date_of_birth", "2026-11-25"),), ()),
        Case("over 25", (cell("referrals", 1, "date_of_birth", "2000-11-24"),),
             (("referrals", 3, "date_of_birth",
               "date of birth makes the child over 25 at --as-of", "error", "impossible_age"),)),
        Case("25 is not over 25", (cell("referrals", 1, "date_of_birth", "2000-11-26"),),
             (("referrals", 3, "date_of_birth", ADULT, "warning", "adult"),)),
        Case("18 today", (cell("referrals", 1, "date_of_birth", "2008-11-25"),),
             (("referrals", 3, "date_of_birth", ADULT, "warning", "adult"),)),
        Case("18 tomorrow", (cell("referrals", 1, "date_of_birth", "2008-11-26"),), ()),
        Case("referred before birth", (cell("referrals", 2, "referral_date", "2010-01-04"),),
             (("referrals", 4, "referral_date", "referral date is before the date of birth",
               "error", "impossible_date"),)),
        Case("referred on the day of birth",
             (cell("referrals", 2, "referral_date", "2010-01-05"),), ()),
    ],
    "under_16_supported": [
        Case("aged 12", (cell("referrals", 1, "settings", "foster;supported"),),
             (("referrals", 3, "settings", UNDER_16, "warning", "under_16_supported"),)),
        Case("16 today", (cell("referrals", 1, "settings", "foster;supported"),
                          cell("referrals", 1, "date_of_birth", "2010-11-25")), ()),
        Case("16 tomorrow", (cell("referrals", 1, "settings", "foster;supported"),
                             cell("referrals", 1, "date_of_birth", "2010-11-26")),
             (("referrals", 3, "settings", UNDER_16, "warning", "under_16_supported"),)),
    ],
    "distance_window": [
        Case("cap below floor", (cell("referrals", 2, "max_distance_miles", "9.5"),),
             (("referrals", 4, "max_distance_miles",
               "max_distance_miles is below min_distance_miles: no unit can qualify, only a "
               "fallback", "warning", "distance_window"),)),
        Case("cap equal to floor", (cell("referrals", 2, "max_distance_miles", "10"),), ()),
    ],
    "school_location": [
        Case("latitude only", (cell("referrals", 0, "school_lat", "53.5"),),
             (("referrals", 2, "school_lon", "school_lat is given but school_lon is blank",
               "error", "school_location"),)),
        Case("longitude only", (cell("referrals", 3, "school_lat", ""),),
             (("referrals", 5, "school_lat", "school_lon is given but school_lat is blank",
               "error", "school_location"),)),
    ],
    "sibling_groups": [
        Case("group of one", (cell("referrals", 2, "sibling_group", "S2"),),
             (("referrals", 4, "sibling_group", "the only child in this sibling group",
               "warning", "sibling_groups"),)),
        Case("keep_together without a group", (cell("referrals", 3, "keep_together", "yes"),),
             (("referrals", 5, "keep_together",
               "keep_together has no effect without a sibling_group", "warning",
               "sibling_groups"),)),
        Case("kept together, no shared setting",
             (cell("referrals", 0, "settings", "residential"),),
             (("referrals", 2, "settings", NO_SHARED, "warning", "sibling_groups"),)),
        Case("kept by default, no shared setting",
             (cell("referrals", 0, "settings", "residential"),
              cell("referrals", 1, "keep_together", "")),
             (("referrals", 2, "settings", NO_SHARED, "warning", "sibling_groups"),)),
        Case("one member keeps it together", (cell("referrals", 0, "settings", "residential"),
                                              cell("referrals", 0, "keep_together", "no")),
             (("referrals", 2, "settings", NO_SHARED, "warning", "sibling_groups"),)),
        Case("may split, no shared setting", (cell("referrals", 0, "settings", "residential"),
                                              cell("referrals", 0, "keep_together", "no"),
                                              cell("referrals", 1, "keep_together", "no")), ()),
    ],
    "unit_ages": [
        Case("minimum above maximum", (cell("units", 0, "age_min", "18"),),
             (("units", 2, "age_min", "age_min is above age_max", "error", "unit_ages"),)),
        Case("one age only", (cell("units", 0, "age_min", "17"),), ()),
    ],
    "provider_names": [
        Case("two names for one provider",
             (cell("units", 2, "provider_name", "Mersey Foster Care"),),
             (("units", 3, "provider_name", "provider 'P2' has more than one provider_name",
               "warning", "provider_names"),)),
    ],
    "offer_ids": [
        Case("unknown child", (cell("offers", 1, "child_id", "C999"),),
             (("offers", 3, "child_id", "no referral has this id", "error",
               "unknown_referral"),), also=("offers",)),
        Case("unknown unit", (cell("offers", 2, "unit_id", "U99"),),
             (("offers", 4, "unit_id", "no unit has this id", "error", "unknown_unit"),),
             also=("offers",)),
        Case("second offer for a pair", (copy_row("offers", 0, weekly_price="5000"),),
             (("offers", 5, "unit_id", "a second offer for the same child and unit", "error",
               "duplicate_offer"),), also=("offers",)),
    ],
    "conflict_ids": [
        Case("unknown child", (cell("conflicts", 0, "child_b", "C999"),),
             (("conflicts", 2, "child_b", "no referral has this id", "error",
               "unknown_referral"),), also=("conflicts",)),
        Case("a child with itself", (cell("conflicts", 1, "child_b", "C004"),),
             (("conflicts", 3, "child_b", "a child cannot conflict with itself", "error",
               "self_conflict"),), also=("conflicts",)),
        Case("pair listed twice, either way round",
             (copy_row("conflicts", 0, child_a="C003", child_b="C001"),),
             (("conflicts", 4, "child_b", "this pair is already listed", "warning",
               "duplicate_conflict"),), also=("conflicts",)),
    ],
    "unknown_authorities": [
        Case("misspelt", (cell("referrals", 2, "avoid_authorities", "Wirral;Liverpol"),),
             (("referrals", 4, "avoid_authorities", AUTHORITY, "warning",
               "unknown_authority"),)),
        Case("any case", (cell("referrals", 2, "avoid_authorities", "LIVERPOOL;wirral"),), ()),
        Case("an adjoining authority with no unit",
             (cell("referrals", 2, "avoid_authorities", "Knowsley"),), ()),
    ],
}

ALL_CASES = [(code, case) for code, cases in CASES.items() for case in cases]


@pytest.mark.parametrize("code", [check.code for check in CROSS_CHECKS])
def test_every_cross_check_has_a_case(code: str) -> None:
    """A new rule in allocator/crosschecks.py needs a case in CASES, with a breach in it."""
    assert any(case.expected for case in CASES.get(code, [])), \
        f"cross check {code!r} has no test case in tests/test_validate_crosschecks.py"


def test_every_case_is_for_a_registered_check() -> None:
    assert set(CASES) <= {check.code for check in CROSS_CHECKS}


@pytest.mark.parametrize(("code", "case"), ALL_CASES, ids=[f"{c}: {k.name}" for c, k in ALL_CASES])
def test_cross_check(code: str, case: Case, collect_issues: CollectIssues,
                     referrals_frame: pd.DataFrame, units_frame: pd.DataFrame,
                     offers_frame: pd.DataFrame, conflicts_frame: pd.DataFrame) -> None:
    tables = {"referrals": referrals_frame, "units": units_frame, "offers": offers_frame,
              "conflicts": conflicts_frame}
    tables = {role: frame for role, frame in tables.items()
              if role in ("referrals", "units", *case.also)}
    for edit in case.edits:
        edit(tables)
    found = [(Path(i.file).stem, i.row, i.column, i.message, i.severity, i.rule)
             for i in collect_issues(**tables, as_of=case.as_of)]
    assert found == list(case.expected)
