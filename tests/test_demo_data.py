"""The synthetic market: deterministic, contract-valid, calibrated, and written whole.

The calibration tests read a large market (100,000 children, 20,000 units) once, so shares
are measured with a standard error of a fraction of a percentage point and the tolerances
can be the domain's own bands.
"""

from __future__ import annotations

import re
import time
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from allocator.ages import age_years
from allocator.cli import main
from allocator.validate import load_inputs
from models.records import Conflict, Referral, Unit
from scenarios import demo_data
from scenarios.demo_data import DemoMarket, OutputFolderError, generate, write
from scenarios.geography import TOWN_AUTHORITY, TOWN_LAT, TOWN_LON, haversine_miles

AS_OF = date(2026, 11, 25)
SEND = r"\b(?:LD|ASD|PD|SI|CH|SLCN|SEMH)\b"


@pytest.fixture(scope="module")
def large() -> DemoMarket:
    """The benchmark-sized market; generating it must stay well within seconds."""
    started = time.perf_counter()
    market = generate(100_000, 20_000, 7, AS_OF)
    assert time.perf_counter() - started < 30, "a per-row Python loop has crept in"
    return market


@pytest.fixture(scope="module")
def demo() -> DemoMarket:
    """The README's demo market."""
    return generate(40, 400, 2026, AS_OF)


def _files(market: DemoMarket, folder: Path) -> dict[str, Path]:
    paths = write(market, folder)
    return {path.stem: path for path in paths}


# --- determinism ------------------------------------------------------------------------------


def test_same_seed_gives_identical_tables() -> None:
    first, second = generate(300, 900, 11, AS_OF), generate(300, 900, 11, AS_OF)
    for role in ("referrals", "units", "conflicts"):
        pd.testing.assert_frame_equal(getattr(first, role), getattr(second, role))


def test_same_seed_gives_identical_bytes(tmp_path: Path) -> None:
    one = _files(generate(300, 900, 11, AS_OF), tmp_path / "one")
    two = _files(generate(300, 900, 11, AS_OF), tmp_path / "two")
    for role, path in one.items():
        assert path.read_bytes() == two[role].read_bytes(), role


def test_different_seed_gives_different_tables() -> None:
    first, second = generate(300, 900, 11, AS_OF), generate(300, 900, 12, AS_OF)
    assert not first.referrals.equals(second.referrals)
    assert not first.units.equals(second.units)


def test_children_do_not_change_when_only_the_units_do() -> None:
    fewer, more = generate(200, 100, 5, AS_OF), generate(200, 700, 5, AS_OF)
    pd.testing.assert_frame_equal(fewer.referrals, more.referrals)


def test_impossible_sizes_are_refused() -> None:
    with pytest.raises(ValueError, match="at least one child"):
        generate(0, 10, 1, AS_OF)
    with pytest.raises(ValueError, match="seed"):
        generate(10, 10, -1, AS_OF)


# --- the contract -----------------------------------------------------------------------------


def test_columns_are_the_contracts_in_order(demo: DemoMarket) -> None:
    assert list(demo.referrals.columns) == list(Referral.model_fields)
    assert list(demo.units.columns) == list(Unit.model_fields)
    assert list(demo.conflicts.columns) == list(Conflict.model_fields)


@pytest.mark.parametrize(("children", "units", "seed", "as_of"), [
    (40, 400, 2026, AS_OF),
    (1, 1, 0, AS_OF),
    (250, 60, 3, date(2025, 2, 28)),
    (3000, 1500, 99, date(2028, 2, 29)),
])
def test_written_files_validate_without_errors(tmp_path: Path, children: int, units: int,
                                               seed: int, as_of: date) -> None:
    market = generate(children, units, seed, as_of)
    files = _files(market, tmp_path / "demo")
    inputs = load_inputs(files["referrals"], files["units"], conflicts=files["conflicts"],
                         as_of=as_of)
    assert len(inputs.referrals) == children and len(inputs.units) == units
    # The frames read exactly as the files do.
    frames = load_inputs(market.referrals, market.units, conflicts=market.conflicts,
                         as_of=as_of)
    pd.testing.assert_frame_equal(frames.referrals, inputs.referrals)
    pd.testing.assert_frame_equal(frames.units, inputs.units)


def test_the_demo_validates_without_warnings(tmp_path: Path, demo: DemoMarket) -> None:
    files = _files(demo, tmp_path / "demo")
    inputs = load_inputs(files["referrals"], files["units"], conflicts=files["conflicts"],
                         as_of=AS_OF)
    assert [str(w) for w in inputs.warnings] == []


def test_ids_are_pseudonymous_and_unique(large: DemoMarket) -> None:
    referrals, units = large.referrals, large.units
    assert referrals["child_id"].str.fullmatch(r"C\d{6}").all()
    assert referrals["child_id"].is_unique and units["unit_id"].is_unique
    assert units["unit_id"].str.fullmatch(r"U\d{5}").all()
    assert units["provider_id"].str.fullmatch(r"P\d{4}").all()
    assert units.groupby("provider_id")["provider_name"].nunique().max() == 1
    urns = units["ofsted_urn"].dropna()
    assert urns.str.fullmatch(r"SC\d{6}").all()
    homes = units[units["setting"] == "residential"]
    assert homes["ofsted_urn"].notna().all() and homes["ofsted_urn"].is_unique


def test_conflicts_pair_distinct_children_from_different_families(large: DemoMarket) -> None:
    referrals, conflicts = large.referrals, large.conflicts
    assert len(conflicts) == round(0.05 * len(referrals))
    family = referrals.set_index("child_id")["sibling_group"]
    family = family.fillna(pd.Series(family.index, index=family.index))
    assert (conflicts["child_a"] != conflicts["child_b"]).all()
    first, second = family[conflicts["child_a"]], family[conflicts["child_b"]]
    assert (first.to_numpy() != second.to_numpy()).all()
    pairs = pd.DataFrame(np.sort(conflicts[["child_a", "child_b"]].to_numpy(), axis=1))
    assert not pairs.duplicated().any()


# --- calibration (docs/data.md) ---------------------------------------------------------------


def _share(mask: pd.Series | np.ndarray) -> float:
    return float(np.mean(mask))


def test_settings_follow_the_dfe_split(large: DemoMarket) -> None:
    settings = large.referrals["settings"]
    assert 0.68 <= _share(settings.str.contains("foster")) <= 0.72
    assert 0.15 <= _share(settings.str.contains("residential")) <= 0.17
    assert 0.01 <= _share(settings.str.contains("parent_child")) <= 0.04


def test_supported_only_at_16_and_17(large: DemoMarket) -> None:
    referrals = large.referrals
    ages = age_years(referrals["date_of_birth"], AS_OF)
    assert ages.min() >= 0 and ages.max() <= 17
    supported = referrals["settings"].str.contains("supported").to_numpy()
    assert (ages[supported] >= 16).all()
    units = large.units[large.units["setting"] == "supported"]
    assert (units["age_min"] >= 16).all()


def test_most_children_who_may_live_in_a_home_have_send(large: DemoMarket) -> None:
    referrals = large.referrals
    residential = referrals["settings"].str.contains("residential")
    assert 0.75 <= _share(referrals.loc[residential, "needs"].str.contains(SEND)) <= 0.85


def test_four_fifths_of_homes_accept_two_or_more_need_areas(large: DemoMarket) -> None:
    homes = large.units[large.units["setting"] == "residential"]
    areas = homes["needs_supported"].str.count(r"\b(?:SEMH|ASD|LD|SLCN|MH|CH|PD|SI)\b")
    assert 0.75 <= _share(areas >= 2) <= 0.85
    assert (areas >= 1).all()


def test_urgency_siblings_and_school_years(large: DemoMarket) -> None:
    referrals = large.referrals
    assert 0.15 <= _share(referrals["urgency"] == "emergency") <= 0.25
    grouped = referrals["sibling_group"].notna()
    assert 0.08 <= _share(grouped) <= 0.12
    sizes = referrals.loc[grouped, "sibling_group"].value_counts()
    assert sizes.between(2, 3).all()
    assert referrals.loc[~grouped, "keep_together"].isna().all()
    assert 0.75 <= _share(referrals.loc[grouped, "keep_together"].astype(bool)) <= 0.95
    homes = referrals[grouped].groupby("sibling_group")[["home_lat", "home_lon"]].nunique()
    assert (homes == 1).all().all()
    ages = age_years(referrals["date_of_birth"], AS_OF)
    ks4 = referrals["key_stage_4"].to_numpy(dtype=bool)
    assert set(np.unique(ages[ks4])) <= {14, 15, 16}


def test_distance_windows_leave_room(large: DemoMarket) -> None:
    referrals = large.referrals
    cap, floor = referrals["max_distance_miles"], referrals["min_distance_miles"]
    both = cap.notna() & floor.notna()
    assert (cap[both] >= floor[both]).all()
    assert floor.notna().any() and (floor.dropna() > 0).all()
    placed_away = referrals.loc[floor.notna(), "needs"]
    assert placed_away.str.contains(r"\b(?:CSE|CCE)\b").all()


def test_units_mirror_the_setting_split(large: DemoMarket) -> None:
    setting = large.units["setting"]
    assert 0.65 <= _share(setting == "foster") <= 0.73
    assert 0.15 <= _share(setting == "residential") <= 0.17


def test_prices_sit_on_the_published_figures(large: DemoMarket) -> None:
    units = large.units
    own_foster = units[(units["route"] == "in_house") & (units["setting"] == "foster")]
    assert own_foster["weekly_price"].between(400, 600).all()
    agency = units[(units["route"] == "pdps") & (units["setting"] == "foster")]
    assert 780 <= agency["weekly_price"].median() <= 880
    homes = units[(units["route"] == "pdps") & (units["setting"] == "residential")]
    assert 3830 <= homes["weekly_price"].median() <= 6600
    supported = units[units["setting"] == "supported"]["weekly_price"].median()
    assert supported < homes["weekly_price"].median()
    assert (units.loc[units["route"] == "in_house", "ownership"] == "PR1").all()
    assert units.loc[units["route"] != "in_house", "ownership"].isin(["PR4", "PR5"]).all()


def test_every_unit_stands_in_its_local_authority(large: DemoMarket) -> None:
    units = large.units
    miles = haversine_miles(units["lat"].to_numpy()[:, None], units["lon"].to_numpy()[:, None],
                            TOWN_LAT[None, :], TOWN_LON[None, :])
    same = units["local_authority"].to_numpy()[:, None] == TOWN_AUTHORITY[None, :]
    nearest_own_town = np.where(same, miles, np.inf).min(axis=1)
    assert (nearest_own_town <= 2.6).all()


def test_children_live_mostly_in_sefton(large: DemoMarket) -> None:
    referrals = large.referrals
    sefton = TOWN_AUTHORITY == "Sefton"
    miles = haversine_miles(referrals["home_lat"].to_numpy()[:, None],
                            referrals["home_lon"].to_numpy()[:, None],
                            TOWN_LAT[None, sefton], TOWN_LON[None, sefton]).min(axis=1)
    assert 0.80 <= _share(miles <= 2.2) <= 0.92


def test_the_demo_is_a_strained_market(demo: DemoMarket) -> None:
    """Most children fit a listed unit; some need the LCR or regional fallbacks or stay
    unplaced, as in a real search."""
    from allocator.api import allocate

    result = allocate(demo.referrals, demo.units, conflicts=demo.conflicts, as_of=AS_OF,
                      explain=False)
    option = result.allocation["option"]
    in_units = _share(~option.str.startswith("fallback") & (option != "unplaced"))
    assert 0.7 <= in_units < 1.0


# --- writing and the CLI ----------------------------------------------------------------------


def test_a_failed_write_leaves_nothing(tmp_path: Path, demo: DemoMarket,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []

    def failing(frame: pd.DataFrame, role: str, path: Path) -> None:
        calls.append(role)
        if len(calls) == 2:
            raise OSError("disk full")
        path.write_text("partial")

    monkeypatch.setattr(demo_data, "_write_csv", failing)
    with pytest.raises(OSError, match="disk full"):
        write(demo, tmp_path / "out")
    assert list(tmp_path.iterdir()) == []


def test_cli_writes_the_three_files(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    result = CliRunner().invoke(main, ["demo-data", "--children", "12", "--units", "60",
                                       "--seed", "3", "--out", str(out),
                                       "--as-of", "2026-11-25"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["conflicts.csv", "referrals.csv",
                                                     "units.csv"]
    assert str(out / "referrals.csv") in result.output
    assert re.search(r"12 children .* 60 units", result.output)
    written = pd.read_csv(out / "referrals.csv", dtype=str)
    expected = generate(12, 60, 3, AS_OF).referrals
    assert written["child_id"].tolist() == expected["child_id"].tolist()


def test_cli_refuses_a_folder_with_files_in_it(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    args = ["demo-data", "--children", "5", "--units", "20", "--out", str(out),
            "--as-of", "2026-11-25"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2
    assert "not empty" in result.output and "--force" in result.output
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]
    forced = CliRunner().invoke(main, [*args, "--force"])
    assert forced.exit_code == 0, forced.output
    assert (out / "notes.txt").read_text() == "keep me"
    assert (out / "units.csv").exists()


def test_cli_refuses_a_file_as_the_folder(tmp_path: Path) -> None:
    out = tmp_path / "taken"
    out.write_text("")
    result = CliRunner().invoke(main, ["demo-data", "--out", str(out)])
    assert result.exit_code == 2
    assert "not a folder" in result.output


def test_write_refuses_without_force(tmp_path: Path, demo: DemoMarket) -> None:
    write(demo, tmp_path / "demo")
    with pytest.raises(OutputFolderError, match="not empty"):
        write(demo, tmp_path / "demo")
    assert len(write(demo, tmp_path / "demo", force=True)) == 3
