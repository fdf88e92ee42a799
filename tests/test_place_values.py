"""``place_values.csv``: what one more place is worth, checked against re-solving.

The figure is the LP relaxation's dual of each capacity row (:mod:`allocator.placevalue`).
Where the relaxation's answer is unique (two children competing for one place), it must
equal the fall in the optimum when the unit is given a second place, found by solving
again; a unit with room to spare is worth nothing; an uncapped fallback has no value; the
greedy method computes none.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from click.testing import CliRunner
from oracle import AS_OF, child, frame, unit

from allocator.api import allocate
from allocator.cli import main

CAPPED = {"fallbacks": [{"route": "lcr", "setting": "residential", "weekly_price": 5200,
                         "distance_miles": 30, "capacity": 1}]}


def _market(conflict: bool) -> tuple[list[dict], list[dict], list[dict] | None]:
    children = [child("C1"), child("C2"), child("C3", settings="foster")]
    units = [unit("A", weekly_price=3000), unit("F", setting="foster", vacancies=3)]
    # A conflict between children who never compete turns the network into the LP path.
    conflicts = [{"child_a": "C1", "child_b": "C3", "reason": "risk"}] if conflict else None
    return children, units, conflicts


def _objective(children, units, conflicts, policy=None) -> int:
    result = allocate(frame(children), frame(units), policy=policy, as_of=AS_OF,
                      conflicts=None if conflicts is None else frame(conflicts), explain=False)
    assert result.summary["status"] == "optimal"
    return round(result.summary["objective"] * 100)


def _values(result) -> dict[str, float]:
    table = result.place_values
    return dict(zip(table["option"], table["value_of_one_more_place"], strict=True))


@pytest.mark.parametrize("conflict", [False, True])
def test_a_contested_place_is_worth_what_a_second_one_saves(conflict: bool) -> None:
    children, units, conflicts = _market(conflict)
    result = allocate(frame(children), frame(units), as_of=AS_OF,
                      conflicts=None if conflicts is None else frame(conflicts))
    values = _values(result)
    more = [dict(units[0], vacancies="2"), units[1]]
    saving = _objective(children, units, conflicts) - _objective(children, more, conflicts)
    assert saving > 0
    assert round(values["A"] * 100) == saving
    assert values["F"] == 0  # three places, one foster child
    fallbacks = [v for k, v in values.items() if k.startswith("fallback:")]
    assert fallbacks and all(math.isnan(v) for v in fallbacks)  # uncapped: nothing to add
    assert result.summary["place_values"]["most_valuable"][0]["option"] == "A"


def test_a_capped_fallback_has_a_value_when_it_is_full() -> None:
    children = [child(f"C{i}") for i in range(1, 4)]
    result = allocate(frame(children), frame([unit("A")]), policy=CAPPED, as_of=AS_OF)
    table = result.place_values.set_index("option")
    lcr = table.loc["fallback:lcr:residential"]
    assert lcr["places"] == 1 and lcr["used"] == 1
    more = dict(CAPPED["fallbacks"][0], capacity=2)
    saving = (_objective(children, [unit("A")], None, CAPPED)
              - _objective(children, [unit("A")], None, {"fallbacks": [more]}))
    assert saving > 0 and round(lcr["value_of_one_more_place"] * 100) == saving


def test_greedy_reports_no_values() -> None:
    children, units, _ = _market(False)
    result = allocate(frame(children), frame(units), as_of=AS_OF, method="greedy")
    assert result.place_values["value_of_one_more_place"].isna().all()
    assert result.summary["place_values"]["basis"].startswith("not computed")


def test_the_file_is_written_and_named(tmp_path: Path) -> None:
    children, units, _ = _market(False)
    frame(children).to_csv(tmp_path / "r.csv", index=False)
    frame(units).to_csv(tmp_path / "u.csv", index=False)
    out = CliRunner().invoke(main, ["allocate", "-r", str(tmp_path / "r.csv"), "-u",
                                    str(tmp_path / "u.csv"), "--as-of", AS_OF.isoformat(),
                                    "--out", str(tmp_path / "run")])
    assert out.exit_code == 0, out.output
    assert "place_values.csv" in out.output
    lines = (tmp_path / "run" / "place_values.csv").read_text().splitlines()
    assert lines[0] == ("option,kind,provider_id,setting,route,places,used,"
                        "value_of_one_more_place")
    assert lines[1].startswith("A,unit,PA,residential,pdps,1,1,")
    assert lines[-1].endswith(",")  # an uncapped fallback: places and value blank
