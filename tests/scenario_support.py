"""Small scenarios the scenario tests share: quick to compile and to simulate.

A 1,000-child pool and a 300-unit demo market compile in under a second; a few warm-up
weeks and a short horizon keep each replication to a few tens of milliseconds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from scenarios.config import Scenario, parse_scenario

EXAMPLES = Path(__file__).resolve().parent.parent / "scenarios" / "examples"


def small(name: str = "small", **changes: Any) -> Scenario:
    """A short scenario on the demo market; ``changes`` override or add keys."""
    raw: dict[str, Any] = {
        "name": name, "as_of": "2026-11-25", "market": {"demo": {"units": 300, "seed": 7}},
        "horizon_weeks": 8, "warmup_weeks": 3, "replications": 4, "seed": 11,
        "demand": {"looked_after": 500, "pool": {"children": 1000, "seed": 5}},
    }
    raw.update(changes)
    return parse_scenario(raw, name)


GROWTH = [{"type": "add_units", "week": 0, "count": 2, "setting": "residential",
           "place": "Bootle", "places": 2, "needs": ["SEMH", "ASD", "MH", "CSE", "CCE", "MFH"],
           "price": 4600, "route": "in_house", "accepts_emergency": True},
          {"type": "add_units", "week": 0, "count": 5, "setting": "foster",
           "place": "Netherton", "needs": ["SEMH"], "price": 500, "route": "in_house",
           "accepts_emergency": True}]
