"""Every column rule: each parser, required columns and values, ranges, and what messages echo.

Each case breaks one cell of a fixture table (spreadsheet row 3: the second data row) and
expects exactly one error naming that file, row and column, with the contract's message.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from allocator.columns import parse_column
from allocator.issues import Issue
from allocator.validate import load_inputs
from models.schema import table_schema

CollectIssues = Callable[..., list[Issue]]

ROW = 3  # the spreadsheet row of data row index 1 (the header is row 1)

NEEDS = "a ';'-separated list of SEMH, LD, ASD, PD, SI, CH, MH, SLCN, HSB, CSE, CCE, MFH, SUB, " \
    "UASC, PC"

# (table, column, bad cell, the whole message expected)
BAD_CELLS = [
    # bool
    ("referrals", "therapy_need", "maybe",
     "expected true/false, yes/no, y/n or 1/0, found 'maybe'"),
    ("units", "accepts_emergency", "2", "expected true/false, yes/no, y/n or 1/0, found '2'"),
    # int
    ("referrals", "expected_weeks", "2.5", "expected a whole number, found '2.5'"),
    ("units", "vacancies", "three", "expected a whole number, found 'three'"),
    ("offers", "capacity_use", "1.5", "expected a whole number, found '1.5'"),
    # float
    ("referrals", "max_distance_miles", "far", "expected a number, found 'far'"),
    ("units", "lat", "53,48", "expected a number, found '53,48'"),
    ("offers", "quality_score", "high", "expected a number, found 'high'"),
    # money
    ("units", "weekly_price", "£12 00", "expected a number, found '£12 00'"),
    ("units", "price_1to1", "1,2", "expected a number, found '1,2'"),
    ("units", "weekly_price", "1.200,50", "expected a number, found '1.200,50'"),
    ("offers", "weekly_price", "about £900", "expected a number, found 'about £900'"),
    # date
    ("referrals", "referral_date", "01/11/2026", "expected a date written YYYY-MM-DD, "
     "found '01/11/2026'"),
    ("referrals", "referral_date", "2026-02-30", "expected a date written YYYY-MM-DD, "
     "found '2026-02-30'"),
    ("units", "available_from", "next week", "expected a date written YYYY-MM-DD, "
     "found 'next week'"),
    # code
    ("referrals", "sex", "X", "expected one of M, F, found 'X'"),
    ("referrals", "staffing", "4:1", "expected one of standard, 1:1, 2:1, 3:1, found '4:1'"),
    ("referrals", "urgency", "soon", "expected one of emergency, planned, found 'soon'"),
    ("referrals", "legal_status", "Z9", "expected one of C1, C2, D1, E1, V2, V3, V4, L1, L2, "
     "L3, J1, J2, J3"),  # sensitive: the cell is not echoed
    ("referrals", "category_of_need", "N9", "expected one of N1, N2, N3, N4, N5, N6, N7, N8"),
    ("units", "setting", "hotel", "expected one of foster, residential, supported, "
     "parent_child, found 'hotel'"),
    ("units", "route", "framework", "expected one of in_house, pdps, lcr, regional, spot, "
     "found 'framework'"),
    ("units", "ownership", "PR9", "expected one of PR1, PR2, PR3, PR4, PR5, found 'PR9'"),
    # SSDA903's PR0 (parents) is no unit's ownership; the contract lists PR1-PR5.
    ("units", "ownership", "PR0", "expected one of PR1, PR2, PR3, PR4, PR5, found 'PR0'"),
    ("units", "ofsted_rating", "ok", "expected one of outstanding, good, "
     "requires_improvement, inadequate, not_yet_inspected, found 'ok'"),
    ("units", "sexes", "X", "expected one of M, F, any, found 'X'"),
    # code list
    ("referrals", "needs", "SEMH;XYZ", f"expected {NEEDS}"),  # sensitive: not echoed
    ("referrals", "settings", "foster;castle", "expected a ';'-separated list of foster, "
     "residential, supported, parent_child, found 'foster;castle'"),
    ("referrals", "settings", " ; ", "expected a ';'-separated list of foster, residential, "
     "supported, parent_child, found ';'"),
    ("referrals", "settings", ";;", "expected a ';'-separated list of foster, residential, "
     "supported, parent_child, found ';;'"),
    ("units", "needs_supported", "ASD;autism", f"expected {NEEDS}, found 'ASD;autism'"),
    # text: the only way to get a text cell wrong is to leave a required one blank
    ("referrals", "child_id", "", "required value is blank"),
    ("referrals", "child_id", "   ", "required value is blank"),
    ("units", "provider_name", "", "required value is blank"),
    ("units", "local_authority", "", "required value is blank"),
    ("conflicts", "child_b", "", "required value is blank"),
    # required values of other kinds
    ("referrals", "sex", "", "required value is blank"),
    ("units", "vacancies", "", "required value is blank"),
    ("units", "weekly_price", "", "required value is blank"),
    ("offers", "weekly_price", "", "required value is blank"),
    # ranges
    ("units", "vacancies", "-1", "must be at least 0, found -1"),
    ("units", "staff_capacity", "-2", "must be at least 0, found -2"),
    ("units", "max_new_admissions", "-1", "must be at least 0, found -1"),
    ("units", "lat", "95.5", "must be at most 90, found 95.5"),
    ("units", "lon", "-181", "must be at least -180, found -181"),
    ("units", "age_min", "121", "must be at most 120, found 121"),
    ("units", "age_max", "-1", "must be at least 0, found -1"),
    ("units", "weekly_price", "-£5", "expected a number, found '-£5'"),
    ("units", "weekly_price", "-5", "must be at least 0, found -5"),
    ("units", "price_2to1", "-3600", "must be at least 0, found -3600"),
    ("offers", "quality_score", "100.5", "must be at most 100, found 100.5"),
    ("offers", "quality_score", "-1", "must be at least 0, found -1"),
    ("offers", "capacity_use", "0", "must be at least 1, found 0"),
    ("referrals", "expected_weeks", "0", "must be at least 1, found 0"),
    ("referrals", "max_distance_miles", "-5", "must be at least 0, found -5"),
    ("referrals", "min_distance_miles", "-0.5", "must be at least 0, found -0.5"),
]


@pytest.fixture
def tables(referrals_frame: pd.DataFrame, units_frame: pd.DataFrame,
           offers_frame: pd.DataFrame, conflicts_frame: pd.DataFrame) -> dict[str, pd.DataFrame]:
    return {"referrals": referrals_frame, "units": units_frame, "offers": offers_frame,
            "conflicts": conflicts_frame}


def _errors(issues: list[Issue]) -> list[Issue]:
    return [i for i in issues if i.severity == "error"]


@pytest.mark.parametrize(("role", "column", "cell", "message"), BAD_CELLS,
                         ids=[f"{r}.{c}={v!r}" for r, c, v, _ in BAD_CELLS])
def test_a_bad_cell_is_one_error_naming_file_row_and_column(
        collect_issues: CollectIssues, tables: dict[str, pd.DataFrame], role: str, column: str,
        cell: str, message: str) -> None:
    # Only the tables this one needs, so that a blank id is not also an unknown id elsewhere.
    needed = {"referrals", "units", role}
    given = {r: frame.copy() for r, frame in tables.items() if r in needed}
    given[role].loc[1, column] = cell
    errors = _errors(collect_issues(**given))
    assert len(errors) == 1, [str(e) for e in errors]
    (error,) = errors
    assert (error.file.endswith(f"{role}.csv"), error.row, error.column) == (True, ROW, column)
    assert error.message == message
    assert str(error) == f"{error.file}, row {ROW}, column {column}: {message}"


def test_the_fixture_tables_are_valid_and_quiet(collect_issues: CollectIssues,
                                                tables: dict[str, pd.DataFrame]) -> None:
    assert collect_issues(**tables) == []


@pytest.mark.parametrize(("role", "column"), [
    ("referrals", "child_id"), ("referrals", "date_of_birth"), ("referrals", "sex"),
    ("referrals", "settings"), ("referrals", "home_lat"), ("referrals", "home_lon"),
    ("units", "unit_id"), ("units", "provider_id"), ("units", "provider_name"),
    ("units", "setting"), ("units", "route"), ("units", "local_authority"), ("units", "lat"),
    ("units", "lon"), ("units", "vacancies"), ("units", "weekly_price"),
    ("offers", "child_id"), ("offers", "unit_id"), ("offers", "weekly_price"),
    ("conflicts", "child_a"), ("conflicts", "child_b"),
])
def test_a_missing_required_column_is_named_on_the_header_row(
        collect_issues: CollectIssues, tables: dict[str, pd.DataFrame], role: str,
        column: str) -> None:
    tables[role] = tables[role].drop(columns=[column])
    errors = _errors(collect_issues(**tables))
    assert [(e.file.endswith(f"{role}.csv"), e.row, e.column, e.message) for e in errors] == [
        (True, 1, column, "required column is missing")]


OPTIONAL = [(role, c.name) for role in ("referrals", "units", "offers", "conflicts")
            for c in table_schema(role).columns if not c.required]
TOGETHER = {"school_lat": ["school_lat", "school_lon"], "school_lon": ["school_lat", "school_lon"]}


@pytest.mark.parametrize(("role", "column"), OPTIONAL)
def test_an_optional_column_may_be_left_out(collect_issues: CollectIssues,
                                            tables: dict[str, pd.DataFrame], role: str,
                                            column: str) -> None:
    tables[role] = tables[role].drop(columns=TOGETHER.get(column, [column]))
    assert _errors(collect_issues(**tables)) == []


def test_every_blank_required_cell_is_reported(collect_issues: CollectIssues,
                                               referrals_frame: pd.DataFrame) -> None:
    referrals_frame.loc[[0, 2], "home_lat"] = ""
    referrals_frame.loc[3, "date_of_birth"] = " "
    errors = _errors(collect_issues(referrals=referrals_frame))
    assert [(e.row, e.column, e.message) for e in errors] == [
        (2, "home_lat", "required value is blank"),
        (4, "home_lat", "required value is blank"),
        (5, "date_of_birth", "required value is blank"),
    ]


SENSITIVE = [
    ("date_of_birth", "1st May 2012"), ("date_of_birth", "2012-05-41"),
    ("date_of_birth", "0025-04-01"), ("date_of_birth", "9999-12-31"),
    ("home_lat", "53.41N"), ("home_lat", "91.25"), ("home_lon", "-3,0140"),
    ("home_lon", "-180.75"), ("school_lat", "fifty-three"), ("school_lat", "-90.5"),
    ("school_lon", "3°W"), ("school_lon", "180.125"),
]


@pytest.mark.parametrize(("column", "cell"), SENSITIVE)
def test_sensitive_cells_are_never_echoed(collect_issues: CollectIssues,
                                          referrals_frame: pd.DataFrame, column: str,
                                          cell: str) -> None:
    referrals_frame.loc[1, "school_lat"] = "53.5"  # a school location for the school columns
    referrals_frame.loc[1, "school_lon"] = "-3.0"
    referrals_frame.loc[1, column] = cell
    errors = _errors(collect_issues(referrals=referrals_frame))
    assert [(e.row, e.column) for e in errors] == [(ROW, column)]
    assert errors[0].message in ("expected a date written YYYY-MM-DD between 1677-09-22 "
                                 "and 2262-04-11", "expected a number",
                                 "must be at most 90", "must be at least -90",
                                 "must be at most 180", "must be at least -180")
    assert cell not in str(errors[0])


@pytest.mark.parametrize(("role", "column", "cell"), [
    ("referrals", "referral_date", "1st May 2026"), ("referrals", "max_distance_miles", "99x"),
    ("units", "lat", "91.25"), ("units", "lon", "west"), ("units", "admitted_date", "May"),
])
def test_other_cells_are_echoed(collect_issues: CollectIssues, tables: dict[str, pd.DataFrame],
                                role: str, column: str, cell: str) -> None:
    tables[role].loc[1, column] = cell
    errors = _errors(collect_issues(**tables))
    assert len(errors) == 1 and cell in errors[0].message


def test_a_long_cell_is_cut_in_the_message(collect_issues: CollectIssues,
                                           referrals_frame: pd.DataFrame) -> None:
    referrals_frame.loc[1, "urgency"] = "x" * 100
    (error,) = _errors(collect_issues(referrals=referrals_frame))
    assert error.message.endswith(f"found '{'x' * 27}...'")


# --- what the parsers make of good cells ------------------------------------------------------


def _parse(role: str, column: str, cells: list[str]) -> tuple[list[object], list[bool]]:
    parsed = parse_column(pd.Series(cells, dtype=object), table_schema(role)[column])
    values = [None if v is pd.NA or (isinstance(v, float) and np.isnan(v)) else v
              for v in parsed.values.tolist()]
    return values, parsed.bad.tolist()


def test_booleans_accept_the_contract_words_in_any_case() -> None:
    cells = ["true", "FALSE", "Yes", "no", "Y", "n", "1", "0", " t ", "F", ""]
    values, bad = _parse("referrals", "therapy_need", cells)
    assert values == [True, False, True, False, True, False, True, False, True, False, False]
    assert not any(bad)


def test_a_blank_keep_together_stays_unknown_until_the_group_decides() -> None:
    values, _ = _parse("referrals", "keep_together", ["", "yes", "no"])
    assert values == [None, True, False]


def test_money_accepts_pounds_and_thousands_separators() -> None:
    values, bad = _parse("units", "weekly_price",
                         ["£1,200", "£ 5,200.50", "1200", "12,345,678", "850.5", "£0"])
    assert values == [1200.0, 5200.5, 1200.0, 12345678.0, 850.5, 0.0]
    assert not any(bad)


def test_only_money_columns_accept_pounds() -> None:
    _, bad = _parse("referrals", "max_distance_miles", ["£5", "1,200", "5"])
    assert bad == [True, True, False]


def test_whole_numbers_may_be_written_as_floats() -> None:
    values, bad = _parse("units", "vacancies", ["3", "3.0", "1e1", " 2 ", "nan", "inf"])
    assert values[:4] == [3, 3, 10, 2]
    assert bad == [False, False, False, False, True, True]


def test_dates_are_iso_with_at_most_a_midnight_time() -> None:
    values, bad = _parse("referrals", "referral_date",
                         ["2026-11-01", "2026-11-01 00:00:00", "2026-11-01T00:00",
                          "2026-11-01 10:30:00", "01/11/2026", "20261101"])
    assert values[:3] == [pd.Timestamp("2026-11-01")] * 3
    assert bad == [False, False, False, True, True, True]


def test_codes_accept_case_and_ssda903_aliases() -> None:
    assert _parse("referrals", "sex", ["m", "F", "1", "2", "female"])[0] == \
        ["M", "F", "M", "F", "F"]
    assert _parse("units", "sexes", ["Mixed", "ANY", "male"])[0] == ["any", "any", "M"]
    assert _parse("referrals", "staffing", ["", "1:1"])[0] == ["standard", "1:1"]


def test_code_lists_are_canonical_distinct_and_in_contract_order() -> None:
    values, bad = _parse("referrals", "needs",
                         ["asd; semh", "EBD;SEMH", "", " ; CSE ;", "PC;UASC;SUB;MFH"])
    assert values == ["SEMH;ASD", "SEMH", "", "CSE", "MFH;SUB;UASC;PC"]
    assert not any(bad)


def test_text_lists_keep_their_order_and_drop_repeats_and_blanks() -> None:
    values, bad = _parse("referrals", "avoid_authorities",
                         [" Wirral ; Liverpool", "Liverpool;;Liverpool", "", ";"])
    assert values == ["Wirral;Liverpool", "Liverpool", "", ""]
    assert not any(bad)


def test_text_is_stripped_and_blank_is_none() -> None:
    assert _parse("referrals", "sibling_group", ["  S1 ", "", "  "])[0] == ["S1", None, None]


def test_defaults_fill_blank_optional_cells(contract_files: dict[str, Path],
                                            as_of: date) -> None:
    inputs = load_inputs(contract_files["referrals"], contract_files["units"],
                         offers=contract_files["offers"], as_of=as_of)
    child = inputs.referrals.loc[1]  # C002 leaves almost every optional cell blank
    assert (child["staffing"], child["urgency"], child["therapy_need"],
            child["min_distance_miles"], child["needs"]) == ("standard", "planned", False, 0.0, "")
    assert pd.isna(child["max_distance_miles"]) and pd.isna(child["expected_weeks"])
    unit = inputs.units.loc[1]  # U02
    assert (unit["ownership"], unit["age_min"], unit["age_max"], unit["sexes"],
            unit["staff_capacity"], unit["accepts_emergency"]) == ("PR1", 0, 17, "any", 0, False)
    assert inputs.units.loc[2, "ofsted_rating"] == "not_yet_inspected"
    assert inputs.units.loc[2, "ownership"] == "PR4"
    assert inputs.units.loc[0, "weekly_price"] == 5200.0
    assert inputs.offers.loc[1, "capacity_use"] == 1


def test_keep_together_defaults_to_true_in_a_sibling_group(
        referrals_frame: pd.DataFrame, units_frame: pd.DataFrame, as_of: date) -> None:
    referrals_frame.loc[:, "keep_together"] = ["", "", "", ""]  # C001 and C002 are group S1
    inputs = load_inputs(referrals_frame, units_frame, as_of=as_of)
    assert inputs.referrals["keep_together"].tolist() == [True, True, False, False]
    referrals_frame.loc[0, "keep_together"] = "no"
    referrals_frame.loc[1, "keep_together"] = "no"
    inputs = load_inputs(referrals_frame, units_frame, as_of=as_of)
    assert inputs.referrals["keep_together"].tolist() == [False, False, False, False]
