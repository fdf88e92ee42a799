"""How long does ``load_inputs`` take on a large council-sized extract, and against what?

Generates (seeded, in memory, nothing committed) 100,000 referrals and 20,000 units with every
contract column filled the way real extracts fill them, writes them as CSV to a temporary
directory, then times

* the baseline: ``pandas.read_csv`` of the same two files, every cell as text, which is the
  least any reader must do; and
* ``allocator.validate.load_inputs``: read, type and range-check every cell, then every cross
  check,

each the best of ``--repeat`` runs in this same process, and prints both times and their ratio.
The target is ``load_inputs`` under 10 s on a 2-core machine; the exit status is 1 when it is
missed. Run on demand (see README.md):

    .venv/bin/python benchmarks/validate_scale.py [--referrals 100000] [--units 20000]
        [--seed 2026] [--repeat 3] [--data own|demo]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from allocator.issues import InputError
from allocator.validate import load_inputs
from models.codes import NeedCode, Route, Setting

AS_OF = date(2026, 11, 25)
AUTHORITIES = np.array(["Sefton", "Liverpool", "Knowsley", "West Lancashire", "Wirral",
                        "St Helens", "Halton", "Wigan", "Lancashire", "Cheshire West"])


def _pick(rng: np.random.Generator, choices: list[str] | np.ndarray, n: int,
          blank: float = 0.0) -> np.ndarray:
    values = np.asarray(choices, dtype=object)[rng.integers(0, len(choices), n)]
    values[rng.random(n) < blank] = ""
    return values


def _lists(rng: np.random.Generator, choices: list[str], n: int, most: int,
           least: int = 0) -> np.ndarray:
    """``;``-joined lists of ``least..most`` distinct items in random order."""
    counts = rng.integers(least, most + 1, n)
    order = np.argsort(rng.random((n, len(choices))), axis=1)[:, :most]
    names = np.asarray(choices, dtype=object)[order]
    names[np.arange(most)[None, :] >= counts[:, None]] = ""
    columns = [pd.Series(names[:, k]) for k in range(most)]
    joined = columns[0].str.cat(columns[1:], sep=";") if most > 1 else columns[0]
    return joined.str.strip(";").to_numpy(dtype=object)


def _dates(rng: np.random.Generator, start: str, end: str, n: int) -> np.ndarray:
    low, high = np.datetime64(start), np.datetime64(end)
    days = rng.integers(0, int((high - low).astype(int)) + 1, n)
    return np.datetime_as_string(low + days.astype("timedelta64[D]"), unit="D").astype(object)


def _numbers(values: np.ndarray, decimals: int) -> np.ndarray:
    return np.char.mod(f"%.{decimals}f", np.round(values, decimals)).astype(object)


def make_referrals(n: int, rng: np.random.Generator) -> pd.DataFrame:
    """``n`` contract-valid referrals (a few warnings, as real data has)."""
    settings = [s.value for s in Setting if s is not Setting.SUPPORTED]
    group = np.where(rng.random(n) < 0.2, (np.arange(n) // 3).astype(str), "")
    school = rng.random(n) < 0.6
    return pd.DataFrame({
        "child_id": np.char.add("C", np.arange(n).astype(str)).astype(object),
        "date_of_birth": _dates(rng, "2009-01-01", "2024-12-31", n),
        "sex": _pick(rng, ["M", "F", "1", "2"], n),
        "settings": _lists(rng, settings, n, 2, least=1),
        "needs": _lists(rng, [c.value for c in NeedCode], n, 3),
        "staffing": _pick(rng, ["standard", "1:1", "2:1", "3:1"], n, blank=0.5),
        "therapy_need": _pick(rng, ["true", "false", "yes", "no"], n, blank=0.3),
        "home_lat": _numbers(rng.uniform(53.3, 53.7, n), 4),
        "home_lon": _numbers(rng.uniform(-3.1, -2.8, n), 4),
        "school_lat": np.where(school, _numbers(rng.uniform(53.3, 53.7, n), 4), ""),
        "school_lon": np.where(school, _numbers(rng.uniform(-3.1, -2.8, n), 4), ""),
        "key_stage_4": _pick(rng, ["true", "false"], n, blank=0.3),
        "urgency": _pick(rng, ["emergency", "planned"], n, blank=0.2),
        "referral_date": _dates(rng, "2026-01-01", "2026-11-25", n),
        "sibling_group": np.char.add("G", group).astype(object) * (group != ""),
        "keep_together": np.where(group != "", _pick(rng, ["", "true", "false"], n), ""),
        "max_distance_miles": np.where(rng.random(n) < 0.5, _numbers(rng.uniform(20, 60, n), 1),
                                       ""),
        "min_distance_miles": np.where(rng.random(n) < 0.1, "5", ""),
        "avoid_authorities": np.where(rng.random(n) < 0.1, _pick(rng, AUTHORITIES, n), ""),
        "expected_weeks": _pick(rng, ["12", "26", "52", ""], n),
        "legal_status": _pick(rng, ["C1", "C2", "V2", "E1"], n, blank=0.2),
        "category_of_need": _pick(rng, [f"N{i}" for i in range(1, 9)], n, blank=0.2),
    })


def make_units(n: int, rng: np.random.Generator) -> pd.DataFrame:
    """``n`` contract-valid units from about ``n / 5`` providers."""
    provider = rng.integers(0, max(n // 5, 1), n)
    age_min = rng.integers(0, 12, n)
    return pd.DataFrame({
        "unit_id": np.char.add("U", np.arange(n).astype(str)).astype(object),
        "provider_id": np.char.add("P", provider.astype(str)).astype(object),
        "provider_name": np.char.add("Provider ", provider.astype(str)).astype(object),
        "setting": _pick(rng, [s.value for s in Setting], n),
        "route": _pick(rng, [r.value for r in Route], n),
        "ownership": _pick(rng, ["PR1", "PR4", "PR5"], n, blank=0.3),
        "lots": _lists(rng, ["L1", "L2", "L3", "L4"], n, 2),
        "admitted_date": _dates(rng, "2023-01-01", "2026-11-25", n),
        "local_authority": _pick(rng, AUTHORITIES, n),
        "lat": _numbers(rng.uniform(53.0, 54.0, n), 5),
        "lon": _numbers(rng.uniform(-3.2, -2.5, n), 5),
        "ofsted_urn": np.char.add("SC", rng.integers(100000, 999999, n).astype(str)).astype(
            object),
        "ofsted_rating": _pick(rng, ["outstanding", "good", "requires_improvement",
                                     "not_yet_inspected"], n),
        "age_min": age_min.astype(str).astype(object),
        "age_max": (age_min + rng.integers(5, 7, n)).astype(str).astype(object),
        "sexes": _pick(rng, ["M", "F", "any"], n, blank=0.3),
        "needs_supported": _lists(rng, [c.value for c in NeedCode], n, 6),
        "vacancies": rng.integers(0, 4, n).astype(str).astype(object),
        "staff_capacity": rng.integers(0, 3, n).astype(str).astype(object),
        "accepts_emergency": _pick(rng, ["yes", "no"], n, blank=0.2),
        "available_from": _dates(rng, "2026-11-01", "2027-01-31", n),
        "weekly_price": np.char.add("£", np.char.mod("%d", rng.integers(800, 9000, n))).astype(
            object),
        "price_1to1": _pick(rng, ["1800", "2000", ""], n),
        "price_2to1": _pick(rng, ["3600", ""], n),
        "price_3to1": _pick(rng, ["5400", ""], n),
        "therapeutic": _pick(rng, ["true", "false"], n),
        "max_new_admissions": _pick(rng, ["1", "2", ""], n),
    })


def best_of(repeat: int, run: Callable[[], object]) -> float:
    """The shortest wall time of ``repeat`` runs, in seconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def write_market(folder: Path, data: str, referrals: int, units: int,
                 seed: int) -> dict[str, Path]:
    """Generate the market and write it as CSV into ``folder``; return the files by role."""
    if data == "demo":
        # The project's demo market (scenarios/), calibrated to a real council; it also
        # writes conflicts. Its numbers move when the demo's calibration does.
        from scenarios.demo_data import generate, write

        paths = write(generate(referrals, units, seed, AS_OF), folder / "demo")
        return {path.stem: path for path in paths}
    rng = np.random.default_rng(seed)
    files = {"referrals": folder / "referrals.csv", "units": folder / "units.csv"}
    make_referrals(referrals, rng).to_csv(files["referrals"], index=False)
    make_units(units, rng).to_csv(files["units"], index=False)
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--referrals", type=int, default=100_000)
    parser.add_argument("--units", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--target", type=float, default=10.0, help="seconds")
    parser.add_argument("--data", choices=("own", "demo"), default="own",
                        help="own: this file's generator, fixed so timings stay comparable "
                        "(default); demo: scenarios.demo_data, with conflicts")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="pdps-bench-") as folder:
        start = time.perf_counter()
        files = write_market(Path(folder), args.data, args.referrals, args.units, args.seed)
        print(f"generated {args.referrals} referrals and {args.units} units ({args.data} "
              f"data, seed {args.seed}) in {time.perf_counter() - start:.2f} s")

        def baseline() -> None:
            for path in files.values():
                pd.read_csv(path, dtype=str, keep_default_na=False)

        def validate() -> None:
            try:
                load_inputs(files["referrals"], files["units"],
                            conflicts=files.get("conflicts"), as_of=AS_OF)
            except InputError as exc:  # the generators are meant to make valid data
                sys.exit(f"generated data is invalid:\n{exc.report(limit=10)}")

        validate()  # warm up imports and caches, and prove the data is valid
        base = best_of(args.repeat, baseline)
        took = best_of(args.repeat, validate)
    verdict = "within" if took < args.target else "OVER"
    print(f"baseline pandas.read_csv (text cells): {base:6.2f} s")
    print(f"load_inputs (read + validate + checks): {took:6.2f} s  "
          f"= {took / base:.1f} x baseline, {verdict} the {args.target:g} s target "
          f"(best of {args.repeat})")
    return 0 if took < args.target else 1


if __name__ == "__main__":
    sys.exit(main())
