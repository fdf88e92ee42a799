"""plan-growth: the SAA's choice of beds beats random and cheapest choices on fresh seeds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from scenario_support import EXAMPLES, small

from allocator.cli import main
from allocator.issues import InputError
from scenarios.growth import Candidate, GrowthPlan, load_candidates, plan_growth

CANDIDATES = (
    Candidate(id="res-bootle", setting="residential", place="Bootle", places=2, price=4600,
              route="in_house", needs=("SEMH", "ASD", "MH", "CSE", "CCE", "MFH", "SUB"),
              accepts_emergency=True, ofsted_rating="good"),
    Candidate(id="foster-netherton", setting="foster", place="Netherton", places=2,
              price=500, route="in_house", needs=("SEMH", "ASD"), accepts_emergency=True,
              ofsted_rating="good"),
    Candidate(id="foster-carlisle", setting="foster", place="Carlisle", places=2, price=400,
              route="pdps", ofsted_rating="good"),
    Candidate(id="foster-kendal", setting="foster", place="Kendal", places=2, price=450,
              route="pdps", ofsted_rating="good"),
    Candidate(id="res-carlisle", setting="residential", place="Carlisle", places=2,
              price=3500, route="pdps", ofsted_rating="good"),
    Candidate(id="parent-child-leeds", setting="parent_child", place="Leeds", places=2,
              price=2600, route="pdps", needs=("PC",)),
)


@pytest.fixture(scope="module")
def plan() -> GrowthPlan:
    scenario = small(horizon_weeks=12, warmup_weeks=4, replications=8, seed=21)
    return plan_growth(scenario, CANDIDATES, 4, samples=4, validation_seed=9021, workers=1)


def test_the_choice_adds_exactly_the_places_asked(plan: GrowthPlan) -> None:
    sizes = np.array([c.places for c in CANDIDATES])
    for rule, picked in plan.picks.items():
        assert sizes[picked].sum() == 4, rule
    assert plan.saa["status"].endswith("OPTIMAL")
    assert plan.saa["validation_seed"] == 9021


def test_choice_beats_random_and_cheapest_on_fresh_seeds(plan: GrowthPlan) -> None:
    savings = plan.savings().set_index(["comparison", "measure"])
    for rule in ("random", "cheapest"):
        assert not np.array_equal(plan.picks["saa"], plan.picks[rule])
        row = savings.loc[(f"saa better than {rule} by", "total_cost")]
        assert row["difference"] > 0 and row["low"] > 0, (rule, row.to_dict())
    own = savings.loc[("saving of saa against baseline", "total_cost")]
    assert own["low"] > 0


def test_cheapest_rule_takes_the_cheapest_candidates(plan: GrowthPlan) -> None:
    chosen = [c.id for c, p in zip(CANDIDATES, plan.picks["cheapest"], strict=True) if p]
    assert chosen == ["foster-carlisle", "foster-kendal"]


def test_plan_growth_command_writes_choice_and_savings(tmp_path: Path) -> None:
    scenario = tmp_path / "s.yaml"
    scenario.write_text("name: s\nmarket: {demo: {units: 300, seed: 7}}\nhorizon_weeks: 6\n"
                        "warmup_weeks: 2\nreplications: 2\nseed: 3\n"
                        "demand: {pool: {children: 1000}}\n")
    out = tmp_path / "plan"
    result = CliRunner().invoke(main, [
        "scenario", "plan-growth", str(scenario), "--candidates",
        str(EXAMPLES / "sefton-candidates.yaml"), "--places", "4", "--samples", "2",
        "--workers", "1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Chosen: ")
    choice = pd.read_csv(out / "choice.csv")
    assert {"saa", "random", "cheapest"} <= set(choice.columns)
    assert (out / "savings.csv").exists() and (out / "spend.png").exists()


def test_candidates_file_errors(tmp_path: Path) -> None:
    bad = tmp_path / "c.yaml"
    bad.write_text("candidates:\n  - {id: a, setting: foster, place: Bootle, price: 1, "
                   "places: 1, flavour: x}\n")
    with pytest.raises(InputError) as caught:
        load_candidates(bad)
    assert "flavour" in caught.value.report() and str(bad) in caught.value.report()
    assert len(load_candidates(EXAMPLES / "sefton-candidates.yaml")) == 8
