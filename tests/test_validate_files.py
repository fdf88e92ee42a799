"""Whole-file problems: unreadable files, headers, extra columns, the policy file and --as-of.

Each is an :class:`~allocator.issues.Issue` naming the file (and the row and column where
there is one), collected with every other problem rather than stopping at the first.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
import yaml

from allocator.issues import InputError, Issue
from allocator.read import read_table
from allocator.validate import load_inputs
from models.policy import Policy, PolicyError, load_policy

CollectIssues = Callable[..., list[Issue]]


def _where(issues: list[Issue]) -> list[tuple[str, int | None, str | None, str, str]]:
    """Each issue as (file name, row, column, message, severity)."""
    return [(Path(i.file).name, i.row, i.column, i.message, i.severity) for i in issues]


def _csv_text(frame: pd.DataFrame) -> str:
    return frame.to_csv(index=False)


# --- files that cannot be read -----------------------------------------------------------------


@pytest.mark.parametrize("name", ["referrals.json", "referrals.xls", "referrals"])
def test_an_unknown_file_type_is_named(collect_issues: CollectIssues, tmp_path: Path,
                                       referrals_frame: pd.DataFrame, name: str) -> None:
    path = tmp_path / name
    path.write_text(_csv_text(referrals_frame), encoding="utf-8")
    assert _where(collect_issues(referrals=path)) == [
        (name, None, None, "unknown file type: use .csv, .xlsx or .parquet", "error")]


@pytest.mark.parametrize("name", ["absent.csv", "absent.xlsx", "absent.parquet"])
def test_a_missing_file_is_named(collect_issues: CollectIssues, tmp_path: Path,
                                 name: str) -> None:
    assert _where(collect_issues(units=tmp_path / name)) == [
        (name, None, None, "file not found", "error")]


def test_a_folder_is_not_a_file(collect_issues: CollectIssues, tmp_path: Path) -> None:
    (tmp_path / "units.csv").mkdir()
    assert _where(collect_issues(units=tmp_path / "units.csv")) == [
        ("units.csv", None, None, "is a folder, not a file", "error")]


def test_an_empty_csv_is_named(collect_issues: CollectIssues, tmp_path: Path) -> None:
    (tmp_path / "empty.csv").write_bytes(b"")
    assert _where(collect_issues(referrals=tmp_path / "empty.csv")) == [
        ("empty.csv", None, None, "the file is empty", "error")]


def test_an_empty_spreadsheet_is_named(collect_issues: CollectIssues, tmp_path: Path) -> None:
    from openpyxl import Workbook

    Workbook().save(tmp_path / "empty.xlsx")
    assert _where(collect_issues(referrals=tmp_path / "empty.xlsx")) == [
        ("empty.xlsx", None, None, "the file is empty", "error")]


def test_a_file_that_is_not_parquet_is_named(collect_issues: CollectIssues,
                                             tmp_path: Path) -> None:
    (tmp_path / "units.parquet").write_text("unit_id\nU01\n", encoding="utf-8")
    assert _where(collect_issues(units=tmp_path / "units.parquet")) == [
        ("units.parquet", None, None,
         "cannot read this file: it is not a readable Parquet file", "error")]


def test_a_header_only_file_is_an_empty_table(tmp_path: Path, units_frame: pd.DataFrame,
                                              as_of: date) -> None:
    path = tmp_path / "referrals.csv"
    path.write_text("child_id,date_of_birth,sex,settings,home_lat,home_lon\n", encoding="utf-8")
    inputs = load_inputs(path, units_frame, as_of=as_of)
    assert len(inputs.referrals) == 0 and "needs" in inputs.referrals.columns


def test_a_csv_that_is_not_utf8_is_named(collect_issues: CollectIssues, tmp_path: Path,
                                         units_frame: pd.DataFrame) -> None:
    path = tmp_path / "units.csv"
    path.write_bytes(_csv_text(units_frame).encode("cp1252"))  # '£5,200' as Windows writes it
    assert _where(collect_issues(units=path)) == [
        ("units.csv", None, None, "not UTF-8 text: save the CSV as UTF-8", "error")]


def test_a_utf8_csv_with_a_byte_order_mark_reads(collect_issues: CollectIssues, tmp_path: Path,
                                                units_frame: pd.DataFrame) -> None:
    path = tmp_path / "units.csv"
    path.write_bytes(_csv_text(units_frame).encode("utf-8-sig"))
    assert collect_issues(units=path) == []


def test_a_row_with_more_cells_than_the_header_is_named(collect_issues: CollectIssues,
                                                        tmp_path: Path,
                                                        units_frame: pd.DataFrame) -> None:
    lines = _csv_text(units_frame).splitlines()
    lines[2] += ",extra"
    path = tmp_path / "units.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert _where(collect_issues(units=path)) == [
        ("units.csv", 3, None, "malformed CSV (a row has more cells than the header)", "error")]


# Found in review: a file with no header row had its first child's every cell listed as
# "not a contract column"; blank lines above the header were "the file is empty"; a title
# line above the header was only "a row has more cells than the header".
def test_a_missing_header_row_is_named_without_repeating_the_row(
        collect_issues: CollectIssues, tmp_path: Path, referrals_frame: pd.DataFrame) -> None:
    path = tmp_path / "referrals.csv"
    path.write_text(_csv_text(referrals_frame).split("\n", 1)[1], encoding="utf-8")
    issues = collect_issues(referrals=path)
    assert _where(issues)[0] == (
        "referrals.csv", 1, None, "the first row names none of the contract's columns (such "
        "as child_id): it must be the header row. Its cells are not repeated here, as they may "
        "be a child's details", "error")
    shown = " ".join(str(i) for i in issues).lower()
    first = referrals_frame.iloc[0]
    for cell in ("c001", "2012_03_01", "53_4860", "semh_asd", "2012-03-01"):
        assert cell not in shown, shown
    assert all(i.column in (None, *referrals_frame.columns) for i in issues)
    assert first["child_id"] == "C001"


@pytest.mark.parametrize("suffix", ["csv", "xlsx"])
def test_blank_rows_above_the_header_are_named(collect_issues: CollectIssues, tmp_path: Path,
                                               referrals_frame: pd.DataFrame,
                                               suffix: str) -> None:
    path = tmp_path / f"referrals.{suffix}"
    if suffix == "csv":
        path.write_text("\n,,\n" + _csv_text(referrals_frame), encoding="utf-8")
    else:
        from openpyxl import Workbook

        book = Workbook()
        sheet = book.active
        sheet.append([])
        sheet.append(list(referrals_frame.columns))
        for record in referrals_frame.to_dict("records"):
            sheet.append(list(record.values()))
        sheet.cell(row=1, column=1, value=None)
        book.save(path)
    assert _where(collect_issues(referrals=path)) == [
        (path.name, 1, None, "blank: the header row (the contract's column names) must be the "
         "first row; delete the blank rows above it", "error")]


def test_a_title_line_above_the_header_is_suggested(collect_issues: CollectIssues,
                                                    tmp_path: Path,
                                                    referrals_frame: pd.DataFrame) -> None:
    path = tmp_path / "referrals.csv"
    path.write_text("Referrals for November\n" + _csv_text(referrals_frame), encoding="utf-8")
    assert _where(collect_issues(referrals=path)) == [
        ("referrals.csv", 2, None, "malformed CSV (a row has more cells than the header; if "
         "row 1 is a title, delete it: the header row must be the first row)", "error")]


def test_an_unclosed_quote_is_named_at_its_row(collect_issues: CollectIssues, tmp_path: Path,
                                               units_frame: pd.DataFrame) -> None:
    lines = _csv_text(units_frame).splitlines()
    lines[2] = lines[2].replace("Mersey Fostering", '"Mersey Fostering', 1)
    path = tmp_path / "units.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert _where(collect_issues(units=path)) == [
        ("units.csv", 3, None, "malformed CSV (a quote opened here is never closed)", "error")]


def test_a_quoted_cell_may_hold_commas_and_line_breaks(collect_issues: CollectIssues,
                                                       units_frame: pd.DataFrame) -> None:
    units_frame.loc[0, "provider_name"] = "Seaview Care, Ltd\n(trading as Seaview)"
    units_frame.loc[2, "vacancies"] = "-1"
    assert _where(collect_issues(units=units_frame)) == [
        ("units.csv", 4, "vacancies", "must be at least 0, found -1", "error")]


def test_a_file_that_is_not_a_workbook_is_named(collect_issues: CollectIssues,
                                                tmp_path: Path) -> None:
    (tmp_path / "units.xlsx").write_text("unit_id\nU01\n", encoding="utf-8")
    assert _where(collect_issues(units=tmp_path / "units.xlsx")) == [
        ("units.xlsx", None, None,
         "cannot read this file: it is not a readable Excel workbook", "error")]


def test_every_unreadable_file_is_reported_at_once(collect_issues: CollectIssues,
                                                   tmp_path: Path) -> None:
    (tmp_path / "referrals.csv").write_bytes(b"")
    issues = collect_issues(referrals=tmp_path / "referrals.csv", units=tmp_path / "units.txt",
                            offers=tmp_path / "offers.json", policy=tmp_path / "policy.yaml")
    assert sorted((Path(i.file).name, i.message) for i in issues) == [
        ("offers.json", "unknown file type: use .csv, .xlsx or .parquet"),
        ("policy.yaml", "file not found"),
        ("referrals.csv", "the file is empty"),
        ("units.txt", "file not found"),
    ]


# --- headers and rows ------------------------------------------------------------------------


def test_a_repeated_column_is_an_error_on_the_header_row(collect_issues: CollectIssues,
                                                         tmp_path: Path,
                                                         referrals_frame: pd.DataFrame) -> None:
    text = _csv_text(referrals_frame).splitlines()
    text = [line + ("," + line.split(",")[2]) for line in text]  # sex again, at the end
    path = tmp_path / "referrals.csv"
    path.write_text("\n".join(text) + "\n", encoding="utf-8")
    assert _where(collect_issues(referrals=path)) == [
        ("referrals.csv", 1, "sex", "the column appears 2 times", "error")]


def test_headers_differing_only_in_spelling_are_the_same_column(
        collect_issues: CollectIssues, referrals_frame: pd.DataFrame) -> None:
    referrals_frame["Child ID"] = referrals_frame["child_id"]
    assert _where(collect_issues(referrals=referrals_frame)) == [
        ("referrals.csv", 1, "child_id", "the column appears 2 times", "error")]


def test_headers_are_normalised(collect_issues: CollectIssues, referrals_frame: pd.DataFrame,
                                units_frame: pd.DataFrame, as_of: date) -> None:
    referrals_frame.columns = [" " + c.upper().replace("_", " ") + " " for c in
                               referrals_frame.columns]
    units_frame = units_frame.rename(columns={"unit_id": "Unit-ID", "lat": "LAT"})
    assert collect_issues(referrals=referrals_frame, units=units_frame) == []
    inputs = load_inputs(referrals_frame, units_frame, as_of=as_of)
    assert inputs.referrals["child_id"].tolist() == ["C001", "C002", "C003", "C004"]


def test_a_repeated_column_in_a_dataframe_or_parquet_file_is_an_error(
        collect_issues: CollectIssues, tmp_path: Path, referrals_frame: pd.DataFrame,
        units_frame: pd.DataFrame, as_of: date) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    doubled = pd.concat([units_frame, units_frame[["vacancies"]]], axis=1)
    parquet = tmp_path / "units.parquet"
    pq.write_table(pa.Table.from_arrays([pa.array(doubled.iloc[:, i].tolist())
                                         for i in range(doubled.shape[1])],
                                        names=list(doubled.columns)), parquet)
    with pytest.raises(InputError) as caught:
        load_inputs(referrals_frame, doubled, as_of=as_of)
    assert _where(caught.value.issues) == [
        ("units", 1, "vacancies", "the column appears 2 times", "error")]
    assert _where(collect_issues(units=parquet)) == [
        ("units.parquet", 1, "vacancies", "the column appears 2 times", "error")]


def test_an_unknown_column_is_a_warning_and_never_reaches_the_table(
        collect_issues: CollectIssues, tmp_path: Path, referrals_frame: pd.DataFrame,
        units_frame: pd.DataFrame, as_of: date) -> None:
    referrals_frame.insert(1, "Name", ["Ann", "Bob", "Cat", "Dan"])
    referrals_frame["notes"] = ""
    message = "not a contract column: ignored and never copied to outputs"
    assert _where(collect_issues(referrals=referrals_frame)) == [
        ("referrals.csv", 1, "name", message, "warning"),
        ("referrals.csv", 1, "notes", message, "warning"),
    ]
    path = tmp_path / "with_names.csv"
    referrals_frame.to_csv(path, index=False)
    inputs = load_inputs(path, units_frame, as_of=as_of)
    assert "name" not in inputs.referrals.columns and "Name" not in inputs.referrals.columns
    assert not inputs.referrals.isin(["Ann", "Bob", "Cat", "Dan"]).any().any()


def test_a_trailing_blank_column_is_ignored_silently(collect_issues: CollectIssues,
                                                     tmp_path: Path,
                                                     units_frame: pd.DataFrame) -> None:
    path = tmp_path / "units.csv"
    path.write_text("".join(line + ",\n" for line in _csv_text(units_frame).splitlines()),
                    encoding="utf-8")
    assert collect_issues(units=path) == []


def test_a_named_column_with_a_blank_header_is_a_warning(collect_issues: CollectIssues,
                                                         units_frame: pd.DataFrame) -> None:
    units_frame[""] = ["x", "", ""]
    assert _where(collect_issues(units=units_frame)) == [
        ("units.csv", 1, "(blank)", "not a contract column: ignored and never copied to outputs",
         "warning")]


def test_blank_lines_keep_the_spreadsheet_row_numbers(collect_issues: CollectIssues,
                                                      tmp_path: Path,
                                                      units_frame: pd.DataFrame) -> None:
    units_frame.loc[2, "vacancies"] = "-1"
    lines = _csv_text(units_frame).splitlines()
    blank_row = "," * (len(units_frame.columns) - 1)
    lines = [lines[0], lines[1], "", blank_row, lines[2], lines[3]]  # the last is row 6
    path = tmp_path / "units.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert _where(collect_issues(units=path)) == [
        ("units.csv", 6, "vacancies", "must be at least 0, found -1", "error")]


def test_a_dataframe_reads_like_a_file(units_frame: pd.DataFrame) -> None:
    raw = read_table(units_frame, "units")
    assert raw.label == "units" and raw.sha256 is None
    assert raw.frame.equals(units_frame)


def test_a_dataframe_source_names_its_role(referrals_frame: pd.DataFrame,
                                           units_frame: pd.DataFrame, as_of: date) -> None:
    units_frame.loc[1, "route"] = "spot purchase"
    with pytest.raises(InputError) as caught:
        load_inputs(referrals_frame, units_frame, as_of=as_of)
    assert [str(e) for e in caught.value.errors] == [
        "units, row 3, column route: expected one of in_house, pdps, lcr, regional, spot, "
        "found 'spot purchase'"]


# --- the policy file and --as-of ---------------------------------------------------------------


def _policy_file(tmp_path: Path, text: str, name: str = "policy.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_policy_file_overrides_only_what_it_names(tmp_path: Path) -> None:
    policy = load_policy(_policy_file(tmp_path, "weights:\n  quality: {good: 10}\n"))
    assert policy.weights.quality.good == 10
    assert policy.weights.quality.requires_improvement == 250
    assert policy.weights.distance_per_mile == Policy().weights.distance_per_mile


@pytest.mark.parametrize(("text", "key", "message"), [
    ("weights:\n  distance_per_mil: 5\n", "weights.distance_per_mil", "unknown key"),
    ("home_authorty: Sefton\n", "home_authorty", "unknown key"),
    ("rules:\n  under_16_supported: allow\n", "rules.under_16_supported",
     "Input should be 'forbid'"),
    ("horizon_weeks: 0\n", "horizon_weeks", "Input should be greater than or equal to 1"),
    ("weights:\n  out_of_area: lots\n", "weights.out_of_area", "must be a number, not text"),
    # YAML reads these as true and as text; lax parsing had taken them as £1 and 26 weeks.
    ("weights:\n  unplaced: yes\n", "weights.unplaced", "must be a number, not true/false"),
    ("horizon_weeks: '26'\n", "horizon_weeks", "must be a number, not text"),
    ("solver:\n  time_limit_s: true\n", "solver.time_limit_s",
     "must be a number, not true/false"),
    ("fallbacks:\n  - {route: lcr, setting: foster, weekly_price: 1, distance_miles: 1,"
     " capacity: 'no'}\n", "fallbacks.0.capacity", "must be a number, not text"),
    ("rules:\n  inadequate: maybe\n", "rules.inadequate", "Input should be 'exclude' or 'allow'"),
    ("fallbacks:\n  - {route: lcr, setting: castle, weekly_price: 1, distance_miles: 1}\n",
     "fallbacks.0.setting",
     "Input should be 'foster', 'residential', 'supported' or 'parent_child'"),
])
def test_a_bad_policy_key_is_named(collect_issues: CollectIssues, tmp_path: Path, text: str,
                                   key: str, message: str) -> None:
    path = _policy_file(tmp_path, text)
    assert _where(collect_issues(policy=path)) == [("policy.yaml", None, key, message, "error")]
    assert str(collect_issues(policy=path)[0]) == f"{path}, column {key}: {message}"


def test_every_bad_policy_key_is_reported(collect_issues: CollectIssues, tmp_path: Path) -> None:
    path = _policy_file(tmp_path, "horizon_weeks: -1\nweights: {unplaced: -5, spare: 1}\n")
    assert sorted(i.column or "" for i in collect_issues(policy=path)) == [
        "horizon_weeks", "weights.spare", "weights.unplaced"]


def test_a_policy_mapping_names_the_bad_key(collect_issues: CollectIssues) -> None:
    assert _where(collect_issues(policy={"weights": {"distance": 1}})) == [
        ("policy", None, "weights.distance", "unknown key", "error")]


@pytest.mark.parametrize(("text", "message"), [
    ("weights: {distance_per_mile: 5\n", "line 2, column 1: not valid YAML"),
    ("horizon_weeks: 26\n  bad indent: [\n", "line 2, column 13: not valid YAML"),
    ("- just\n- a list\n", "the file must be a mapping of policy keys"),
    # safe_load keeps the last of two equal keys without a word; the author may mean either.
    ("horizon_weeks: 10\nweights: {unplaced: 5}\nhorizon_weeks: 20\n",
     "line 3, column 1: key 'horizon_weeks' is written twice"),
    ("weights:\n  out_of_area: 1\n  out_of_area: 2\n",
     "line 3, column 3: key 'out_of_area' is written twice"),
    ("26\n", "the file must be a mapping of policy keys"),
])
def test_a_policy_file_that_is_not_a_mapping_is_named(collect_issues: CollectIssues,
                                                      tmp_path: Path, text: str,
                                                      message: str) -> None:
    path = _policy_file(tmp_path, text)
    assert _where(collect_issues(policy=path)) == [("policy.yaml", None, None, message, "error")]


def test_yaml_merge_overrides_are_not_repeated_keys(tmp_path: Path) -> None:
    """``<<: *base`` then a key of its own overrides, as YAML means; found in review: a merge
    of a mapping that itself merged was reported as a key written twice."""
    text = ("x-defaults: &d {unplaced: 8000, sibling_split: 100}\n"
            "x-kinds: {base: &b {<<: *d, unplaced: 9000}}\n"  # anchored one level down
            "weights: {<<: *b, out_of_area: 7}\n")
    from models.yamltext import load_yaml

    loaded = load_yaml(text)
    assert loaded["weights"] == {"unplaced": 9000, "sibling_split": 100, "out_of_area": 7}
    assert loaded == yaml.safe_load(text)
    # Keys written differently but loading as one key are one key written twice (found in
    # review: comparing the text let '1' and '0x1', 'true' and 'yes' through).
    for twice in ("1: a\n0x1: b\n", "true: a\nyes: b\n", "~: a\nnull: b\n"):
        with pytest.raises(yaml.YAMLError, match="written twice"):
            load_yaml(twice)


def test_an_empty_policy_file_is_the_default_policy(tmp_path: Path) -> None:
    assert load_policy(_policy_file(tmp_path, "# nothing set\n")) == Policy()


def test_a_missing_policy_file_is_named(collect_issues: CollectIssues, tmp_path: Path) -> None:
    assert _where(collect_issues(policy=tmp_path / "nope.yaml")) == [
        ("nope.yaml", None, None, "file not found", "error")]


def test_a_policy_file_that_is_not_utf8_is_named(collect_issues: CollectIssues,
                                                 tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_bytes("home_authority: Sefton\nweights: {out_of_area: 150}  # £\n".encode(
        "cp1252"))
    with pytest.raises(PolicyError):
        load_policy(path)
    assert _where(collect_issues(policy=path)) == [
        ("policy.yaml", None, None, "not UTF-8 text: save the policy file as UTF-8", "error")]


@pytest.mark.parametrize("as_of", ["25/11/2026", "2026-11-31", "today"])
def test_a_bad_as_of_is_named(collect_issues: CollectIssues, as_of: str) -> None:
    assert _where(collect_issues(as_of=as_of)) == [
        ("--as-of", None, None, "expected a date written YYYY-MM-DD", "error")]


def test_as_of_may_be_text(collect_issues: CollectIssues) -> None:
    assert collect_issues(as_of=" 2026-11-25 ") == []


def test_a_cross_file_message_quotes_no_value_of_a_short_row(tmp_path: Path) -> None:
    """Found in review: a blank cell left out mid-row moved a child's needs under
    sibling_group, and the sibling-group check then quoted 'SEMH' as a group's name."""
    from allocator.validate import load_inputs

    referrals = tmp_path / "referrals.csv"
    referrals.write_text(
        "child_id,date_of_birth,sex,settings,home_lat,home_lon,keep_together,sibling_group,"
        "needs\n"
        "A,2014-06-01,M,residential,53.48,-3.01,,,\n"
        "B,2014-06-01,M,foster,53.48,-3.01,,SEMH\n"
        "C,2014-06-01,M,residential,53.48,-3.01,,SEMH\n", encoding="utf-8")
    units = tmp_path / "units.csv"
    units.write_text("unit_id,provider_id,provider_name,setting,route,local_authority,lat,lon,"
                     "vacancies,weekly_price\nU1,P1,Prov,foster,pdps,Sefton,53.4,-3.0,1,500\n",
                     encoding="utf-8")
    inputs = load_inputs(referrals, units, as_of="2026-11-25")
    shown = [str(w) for w in inputs.warnings if w.row in (3, 4)]
    assert shown and not any("SEMH" in text for text in shown), shown
    assert all("fewer cells than the header" in text for text in shown)
