"""Whatever a user types into any cell, validation answers with issues, never a crash.

Hypothesis writes arbitrary text (separators, signs, pound signs, dates, unicode, blanks)
into random cells of the fixture tables. ``load_inputs`` must either return valid inputs or
raise :class:`InputError` whose every error names a file, and a row and column that exist
whenever it is about a cell; sensitive cells are never echoed.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from allocator.issues import InputError
from allocator.validate import load_inputs
from models.schema import table_schema

ROLES = ("referrals", "units", "offers", "conflicts")
COLUMNS = [(role, spec.name) for role in ROLES for spec in table_schema(role).columns]
SENSITIVE = {(role, spec.name) for role in ROLES for spec in table_schema(role).columns
             if spec.sensitive}

cells = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["", " ", ";", ";;", "£", "£1,2", "-0", "1e400", "nan", "NaN", "inf",
                     "2026-02-29", "2024-02-29", "0000-01-01", "9999-12-31", "C001", "U01",
                     "true", "2", "-1", "26", "100.0000001", "SEMH;;ASD", "Sefton", "null",
                     "None", "#N/A", "=1+1", "\u00a0", "１２"]),
    st.integers(-10**6, 10**6).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.dates(date(1900, 1, 1), date(2100, 1, 1)).map(date.isoformat),
)
edits = st.lists(st.tuples(st.sampled_from(COLUMNS), st.integers(0, 2), cells), min_size=1,
                 max_size=6)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(changes=edits)
def test_any_cell_gives_issues_not_a_crash(changes: list[tuple[tuple[str, str], int, str]],
                                           referrals_frame: pd.DataFrame,
                                           units_frame: pd.DataFrame,
                                           offers_frame: pd.DataFrame,
                                           conflicts_frame: pd.DataFrame, as_of: date) -> None:
    tables = {"referrals": referrals_frame.copy(), "units": units_frame.copy(),
              "offers": offers_frame.copy(), "conflicts": conflicts_frame.copy()}
    for (role, column), index, value in changes:
        if index < len(tables[role]):
            tables[role].loc[index, column] = value
    try:
        load_inputs(tables["referrals"], tables["units"], offers=tables["offers"],
                    conflicts=tables["conflicts"], as_of=as_of)
    except InputError as exc:
        assert exc.errors
        for issue in exc.issues:
            assert issue.file in ROLES
            assert issue.message
            if issue.row is not None:
                assert 2 <= issue.row < 2 + len(tables[issue.file])
                assert issue.column in tables[issue.file].columns
                if (issue.file, issue.column) in SENSITIVE:
                    cell = str(tables[issue.file].loc[issue.row - 2, issue.column]).strip()
                    assert len(cell) < 3 or cell not in issue.message
