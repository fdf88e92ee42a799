"""Thirty-three stress markets, built far from the other benchmarks, re-created from a seed.

The other benchmarks time the demo market (``scenarios.demo_data``) at larger and larger
sizes, so they only ever exercise the structure that generator gives: few offers, 5% of
children in sibling groups, plenty of places. These markets push one structure each, or all
at once, well past it: offers with ``capacity_use`` up to 3, up to 30% of children in
sibling groups of up to six (some free to split, some with mixed keep flags), 1-3 conflicts
per child, 30% enhanced staffing against scarce staff, ``max_new_admissions`` of 1, scarce
places with capped fallbacks, all-emergency batches, distance floors and avoided
authorities, children and units copied from a few templates (ties everywhere), and a dense
market of 2.3 million eligible pairs. ``docs/performance.md`` ("Stress test: 33 markets
built far from the benchmarks") quotes what they found; this script lets anyone re-create
those markets byte for byte and run them again.

Each market is a line of :data:`MARKETS`: a name and the generator's arguments, the seed
among them. The generator (:func:`generate`) writes the contract files (``referrals.csv``,
``units.csv``, ``conflicts.csv``, ``offers.csv`` when the market has offers) and a
``policy.yaml``; every structure knob is an argument (:func:`knob_parser`), so a new market
is a new line. Nothing is committed: the files go to a temporary folder that is deleted
afterwards (``--keep DIR`` keeps them, with the outputs and logs).

For each market the script runs what a user runs: ``pdps allocate`` in its own process
(wall clock, peak resident memory of that process, the stages of ``summary.json``), then
``pdps check`` on its allocation. It states no timing target: it exits 1 only when an
``allocate`` or a ``check`` exits non-zero. Run on demand (see README.md)::

    .venv/bin/python benchmarks/stress.py --list
    .venv/bin/python benchmarks/stress.py --market t00_smoke --market l1_mix_small
    .venv/bin/python benchmarks/stress.py --all [--time-limit 300] [--keep /tmp/stress]
    .venv/bin/python benchmarks/stress.py --market m1_dense_pairs --generate-only --out DIR
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from instances import engine_commit

#: The date every market is generated for; ``pdps allocate`` and ``check`` get it as --as-of.
AS_OF = date(2026, 11, 25)

#: The named markets: name -> the generator's arguments (see :func:`knob_parser`), as first
#: run. Changing a line changes the market: add a new name instead, so quoted figures stay
#: reproducible. ``t00_smoke`` checks every feature at once in a few seconds.
MARKETS: dict[str, str] = {
    "t00_smoke": "--children 300 --units 600 --seed 1 --offers-min 5 --offers-max 40 "
                 "--capuse-max 3 --sib-frac 0.25 --sib-max 6 --conf-min 1 --conf-max 3 "
                 "--enh-frac 0.3 --fallbacks rich --fb-cap 2,10",
    "a1_offers": "--children 1000 --units 2000 --seed 11 --offers-min 5 --offers-max 40 "
                 "--capuse-max 3 --offer-quality 20",
    "a2_offers_big": "--children 3000 --units 10000 --seed 12 --offers-min 20 --offers-max 40 "
                     "--capuse-max 3 --vac-ratio 1.5",
    "b1_sibs": "--children 1500 --units 3000 --seed 21 --sib-frac 0.3 --sib-min 2 --sib-max 6 "
               "--keep-false-frac 0.3",
    "b2_sibs_mixed": "--children 3000 --units 6000 --seed 22 --sib-frac 0.25 --sib-max 6 "
                     "--keep-false-frac 0.4 --mixed-keep-frac 0.3 --vac-ratio 1.5",
    "c1_conf": "--children 2000 --units 4000 --seed 31 --conf-min 1 --conf-max 3 "
               "--conf-local 0.9",
    "c2_conf_big": "--children 3000 --units 10000 --seed 32 --conf-min 2 --conf-max 3 "
                   "--conf-local 0.9 --vac-ratio 1.2",
    "d1_enh": "--children 1000 --units 2000 --seed 41 --enh-frac 0.3 --staff-max 1 "
              "--staff-zero-frac 0.7",
    "d2_enh_big": "--children 3000 --units 6000 --seed 42 --enh-frac 0.3 --staff-max 2 "
                  "--staff-zero-frac 0.6 --settings-mix 0.3,0.5,0.15,0.05",
    "e1_mna": "--children 2000 --units 4000 --seed 51 --mna-frac 1.0 --mna-max 1",
    "e2_mna_tight": "--children 3000 --units 3000 --seed 52 --mna-frac 1.0 --mna-max 1 "
                    "--vac-ratio 3",
    "f1_scarce": "--children 2000 --units 4000 --seed 61 --vac-ratio 0.5 --fallbacks rich "
                 "--fb-cap 5,30",
    "f2_scarce_big": "--children 3000 --units 10000 --seed 62 --vac-ratio 0.9",
    "g1_fbcap": "--children 1500 --units 3000 --seed 71 --vac-ratio 0.7 --fallbacks rich "
                "--fb-cap 1,5 --sib-frac 0.2 --sib-max 5",
    "h1_emerg": "--children 1000 --units 5000 --seed 81 --emerg-frac 1.0 "
                "--emerg-unit-frac 0.03",
    "h2_emerg_big": "--children 3000 --units 10000 --seed 82 --emerg-frac 1.0 "
                    "--emerg-unit-frac 0.05 --vac-ratio 1.0 --sib-frac 0.2",
    "i1_floors": "--children 2000 --units 4000 --seed 91 --min-dist-frac 0.6 --avoid-frac 0.5 "
                 "--spread 3",
    "i2_floors_all": "--children 3000 --units 8000 --seed 92 --min-dist-frac 1.0 "
                     "--min-dist-max 60 --avoid-frac 0.8 --spread 4",
    "j1_ties": "--children 1000 --units 2000 --seed 101 --ties 5",
    "j2_ties_big": "--children 3000 --units 10000 --seed 102 --ties 10 --sib-frac 0.2 "
                   "--conf-min 1 --conf-max 2",
    "j3_ties_scarce": "--children 2000 --units 2000 --seed 103 --ties 3 --vac-ratio 0.8 "
                      "--fallbacks rich --fb-cap 10,50",
    "k1_cheapfb": "--children 2000 --units 4000 --seed 111 --fallbacks rich "
                  "--fb-price-factor 0.05 --fb-cap 50,200",
    "k2_cheapfb_nocap": "--children 1000 --units 10000 --seed 112 --fb-price-factor 0.3",
    "l1_mix_small": "--children 300 --units 600 --seed 121 --offers-min 5 --offers-max 40 "
                    "--capuse-max 3 --sib-frac 0.25 --sib-max 6 --conf-min 1 --conf-max 3 "
                    "--enh-frac 0.3 --staff-max 1 --mna-frac 1 --mna-max 1 --vac-ratio 0.7 "
                    "--fallbacks rich --fb-cap 1,5 --emerg-frac 0.5 --emerg-unit-frac 0.1 "
                    "--min-dist-frac 0.3 --avoid-frac 0.3 --fb-price-factor 0.5",
    "l2_mix_mid": "--children 1500 --units 5000 --seed 122 --sib-frac 0.25 --sib-max 6 "
                  "--mixed-keep-frac 0.2 --conf-min 1 --conf-max 3 --enh-frac 0.3 "
                  "--staff-max 2 --mna-frac 0.8 --mna-max 1 --vac-ratio 0.8 --fallbacks rich "
                  "--fb-cap 2,20 --emerg-frac 0.4 --emerg-unit-frac 0.1 --min-dist-frac 0.3 "
                  "--avoid-frac 0.3 --fb-price-factor 0.2",
    "l3_mix_offers_big": "--children 3000 --units 10000 --seed 123 --offers-min 5 "
                         "--offers-max 40 --capuse-max 3 --sib-frac 0.25 --sib-max 6 "
                         "--conf-min 1 --conf-max 3 --enh-frac 0.3 --staff-max 2 "
                         "--mna-frac 0.8 --mna-max 1 --vac-ratio 0.8 --fallbacks rich "
                         "--fb-cap 5,50 --emerg-frac 0.3 --min-dist-frac 0.2 --avoid-frac 0.3",
    "l4_mix_big": "--children 3000 --units 10000 --seed 124 --sib-frac 0.3 --sib-max 6 "
                  "--keep-false-frac 0.5 --conf-min 1 --conf-max 3 --enh-frac 0.3 "
                  "--staff-max 1 --mna-frac 1 --mna-max 2 --vac-ratio 0.9 --fallbacks rich "
                  "--fb-cap 5,40 --emerg-frac 0.3 --emerg-unit-frac 0.1 --min-dist-frac 0.3 "
                  "--avoid-frac 0.3 --fb-price-factor 0.1 --ties 40",
    "m1_dense_pairs": "--children 3000 --units 10000 --seed 131 --child-multi-setting 1.0 "
                      "--needs-rate 0.02 --unit-needs-rate 0.9 --max-dist-frac 0 "
                      "--emerg-frac 0 --avail-future-frac 0 --vac-ratio 1.2",
    "m2_extreme_ratio": "--children 3000 --units 600 --seed 132 --vac-ratio 0.6 "
                        "--sib-frac 0.2 --conf-min 1 --conf-max 2 --fallbacks rich "
                        "--fb-cap 20,100",
    "m3_few_children": "--children 300 --units 10000 --seed 133 --sib-frac 0.3 --sib-max 6 "
                       "--conf-min 1 --conf-max 3 --offers-min 30 --offers-max 40 "
                       "--capuse-max 3",
    "n1_ties_small": "--children 300 --units 600 --seed 141 --ties 3",
    "n2_ties_mid": "--children 1000 --units 2000 --seed 142 --ties 20",
    "n3_dense_mid": "--children 1500 --units 5000 --seed 143 --child-multi-setting 1.0 "
                    "--needs-rate 0.02 --unit-needs-rate 0.9 --max-dist-frac 0 "
                    "--emerg-frac 0 --avail-future-frac 0 --vac-ratio 1.2",
}

TOWNS = [  # (authority, lat, lon)
    ("Sefton", 53.4467, -2.9925), ("Sefton", 53.4870, -3.0250), ("Sefton", 53.6450, -2.9980),
    ("Sefton", 53.5160, -2.9420), ("Liverpool", 53.4084, -2.9780),
    ("Liverpool", 53.4330, -2.9080), ("Knowsley", 53.4820, -2.8920),
    ("Knowsley", 53.4110, -2.8390), ("West Lancashire", 53.5690, -2.8850),
    ("West Lancashire", 53.5500, -2.7760), ("Wirral", 53.3930, -3.0300),
    ("St Helens", 53.4540, -2.7360), ("Halton", 53.3610, -2.7340),
    ("Warrington", 53.3900, -2.5970), ("Wigan", 53.5450, -2.6320),
    ("Lancashire", 53.7630, -2.7030), ("Lancashire", 54.0470, -2.8010),
    ("Blackburn with Darwen", 53.7480, -2.4820), ("Blackpool", 53.8175, -3.0300),
    ("Manchester", 53.4808, -2.2426), ("Salford", 53.4875, -2.2901),
    ("Bolton", 53.5780, -2.4290), ("Stockport", 53.4083, -2.1494),
    ("Cheshire East", 53.0990, -2.4410), ("Cumberland", 54.8925, -2.9329),
    ("Leeds", 53.8008, -1.5491), ("Birmingham", 52.4862, -1.8904),
]
HOME_TOWNS = list(range(0, 8))  # children live in Sefton / Liverpool / Knowsley
NEEDS = ["SEMH", "LD", "ASD", "PD", "SI", "CH", "MH", "SLCN", "HSB", "CSE", "CCE", "MFH", "SUB",
         "UASC"]
SETTINGS = ["foster", "residential", "supported", "parent_child"]
ROUTES = ["in_house", "pdps", "lcr", "regional", "spot"]
RATINGS = ["outstanding", "good", "requires_improvement", "inadequate", "not_yet_inspected"]
BASE_PRICE = {"foster": 850, "residential": 5000, "supported": 1700, "parent_child": 3800}


# ------------------------------------------------------------------------------ generator
# Every random draw below is made in the order of the generator that built the markets the
# docs quote: reordering or merging draws changes every market, so keep them as they are.

def knob_parser() -> argparse.ArgumentParser:
    """The generator's arguments: sizes, seed and one knob per structure it can stress."""
    p = argparse.ArgumentParser(prog="market", add_help=False)
    a = p.add_argument
    a("--children", type=int, required=True)
    a("--units", type=int, required=True)
    a("--seed", type=int, required=True)
    a("--vac-ratio", type=float, default=2.5, help="total vacancies / children")
    a("--settings-mix", default="0.5,0.3,0.15,0.05", help="unit share foster,res,supp,pc")
    a("--child-multi-setting", type=float, default=0.4, help="P(child allows 2+ settings)")
    a("--needs-rate", type=float, default=0.15, help="P(child has each need, SEMH x2)")
    a("--unit-needs-rate", type=float, default=0.5)
    a("--offers-min", type=int, default=0)
    a("--offers-max", type=int, default=0)
    a("--capuse-max", type=int, default=1)
    a("--offer-quality", type=float, default=0.0, help="policy weights.offer_quality_point")
    a("--sib-frac", type=float, default=0.05)
    a("--sib-min", type=int, default=2)
    a("--sib-max", type=int, default=3)
    a("--keep-false-frac", type=float, default=0.3)
    a("--mixed-keep-frac", type=float, default=0.0, help="share of groups with mixed keep flags")
    a("--conf-min", type=int, default=0)
    a("--conf-max", type=int, default=0)
    a("--conf-local", type=float, default=0.5, help="share of conflicts between near neighbours")
    a("--enh-frac", type=float, default=0.05)
    a("--staff-max", type=int, default=3)
    a("--staff-zero-frac", type=float, default=0.45)
    a("--mna-frac", type=float, default=0.2)
    a("--mna-max", type=int, default=2)
    a("--emerg-frac", type=float, default=0.1)
    a("--emerg-unit-frac", type=float, default=0.3)
    a("--avail-future-frac", type=float, default=0.3)
    a("--min-dist-frac", type=float, default=0.0)
    a("--min-dist-max", type=float, default=40)
    a("--avoid-frac", type=float, default=0.0)
    a("--max-dist-frac", type=float, default=0.3, help="children with own max_distance")
    a("--policy-max-dist", type=float, default=None)
    a("--ties", type=int, default=0, help="if >0: units and children from this many templates")
    a("--fallbacks", default="default",
      help="'default' | 'none' | 'rich' (several routes/settings) ")
    a("--fb-cap", default="null", help="'null' or 'lo,hi' capacity range for each fallback")
    a("--fb-price-factor", type=float, default=1.0, help="multiply fallback prices (0.05=cheap)")
    a("--ks4-frac", type=float, default=0.1)
    a("--therapy-frac", type=float, default=0.1)
    a("--spread", type=float, default=1.0, help="unit geographic spread (town jitter scale)")
    return p


def knobs_of(name: str) -> argparse.Namespace:
    """The parsed arguments of the named market (every knob, defaults filled in)."""
    return knob_parser().parse_args(shlex.split(MARKETS[name]))


def iso(days: Any) -> list[str]:
    """Dates ``days`` after :data:`AS_OF`, written as the contract wants them."""
    return [(AS_OF + timedelta(days=int(d))).isoformat() for d in days]


def jitter(rng: np.random.Generator, n: int, lat: Any, lon: Any,
           miles: float) -> tuple[np.ndarray, np.ndarray]:
    """Scatter ``n`` points about (lat, lon) by about ``miles``, to 4 decimals as extracts."""
    d = rng.normal(0, miles, (n, 2)) / 69.0
    return np.round(lat + d[:, 0], 4), np.round(lon + d[:, 1] / np.cos(np.radians(53.5)), 4)


def gen_units(rng: np.random.Generator, knobs: argparse.Namespace) -> pd.DataFrame:
    """``units.csv``: every contract column; with ``--ties`` copies of a few templates."""
    n = knobs.units if knobs.ties <= 0 else knobs.ties
    mix = np.array([float(x) for x in knobs.settings_mix.split(",")])
    mix /= mix.sum()
    setting = rng.choice(SETTINGS, n, p=mix)
    route = rng.choice(ROUTES, n, p=[0.15, 0.35, 0.2, 0.1, 0.2])
    town = rng.integers(0, len(TOWNS), n)
    lat, lon = jitter(rng, n, np.array([TOWNS[t][1] for t in town]),
                      np.array([TOWNS[t][2] for t in town]), 1.5 * knobs.spread)
    la = np.array([TOWNS[t][0] for t in town], dtype=object)
    rating = rng.choice(RATINGS, n, p=[0.15, 0.6, 0.15, 0.03, 0.07])
    amin = np.where(setting == "supported", 16, rng.choice([0, 5, 8, 11], n))
    amax = np.where(setting == "supported", 17, rng.choice([10, 15, 17, 17], n))
    amax = np.maximum(amax, amin)
    sexes = rng.choice(["any", "M", "F"], n, p=[0.8, 0.1, 0.1])
    ns = []
    for i in range(n):
        k = [c for c in NEEDS if rng.random() < knobs.unit_needs_rate]
        if setting[i] == "parent_child":
            k.append("PC")
        ns.append(";".join(k))
    staff = rng.integers(0, knobs.staff_max + 1, n)
    staff[rng.random(n) < knobs.staff_zero_frac] = 0
    staff = pd.array(staff, dtype="Int64")
    staff[setting == "foster"] = pd.NA
    emerg = rng.random(n) < knobs.emerg_unit_frac
    avail = np.where(rng.random(n) < knobs.avail_future_frac, rng.integers(1, 60, n),
                     -rng.integers(0, 30, n))
    avail = np.where(emerg, np.minimum(avail, 0), avail)
    price = np.array([BASE_PRICE[s] for s in setting]) * rng.lognormal(0, 0.15, n)
    price = np.round(price * np.where(route == "spot", 1.18, 1.0), -1)
    price = np.where(route == "in_house", np.round(price * 0.7, -1), price)
    p1 = np.where(rng.random(n) < 0.5, np.round(rng.normal(1800, 200, n), -1), np.nan)
    mna = pd.array(np.where(rng.random(n) < knobs.mna_frac,
                            rng.integers(1, max(1, knobs.mna_max) + 1, n), -1), dtype="Int64")
    mna[mna < 0] = pd.NA
    admitted = np.where(route == "pdps", iso(np.where(rng.random(n) < 0.05,
                                                      rng.integers(1, 60, n),
                                                      -rng.integers(30, 900, n))), None)
    prov = rng.integers(0, max(1, n // 5), n)
    df = pd.DataFrame({
        "unit_id": [f"U{i:05d}" for i in range(n)],
        "provider_id": [f"P{p:04d}" for p in prov],
        "provider_name": [f"Provider {p}" for p in prov],
        "setting": setting, "route": route,
        "ownership": np.where(route == "in_house", "PR1", "PR4"),
        "lots": np.where(route == "pdps", "L1", ""), "admitted_date": admitted,
        "local_authority": la, "lat": lat, "lon": lon,
        "ofsted_urn": [f"SC{100000 + i}" for i in range(n)], "ofsted_rating": rating,
        "age_min": amin, "age_max": amax, "sexes": sexes, "needs_supported": ns,
        "vacancies": 0, "staff_capacity": staff, "accepts_emergency": emerg,
        "available_from": iso(avail), "weekly_price": price, "price_1to1": p1,
        "price_2to1": np.round(p1 * 2, -1), "price_3to1": np.round(p1 * 3, -1),
        "therapeutic": rng.random(n) < 0.15, "max_new_admissions": mna,
    })
    if knobs.ties > 0:  # replicate templates
        idx = rng.integers(0, knobs.ties, knobs.units)
        df = df.iloc[idx].reset_index(drop=True)
        df["unit_id"] = [f"U{i:05d}" for i in range(knobs.units)]
        df["ofsted_urn"] = [f"SC{100000 + i}" for i in range(knobs.units)]
    # vacancies: total ~= vac_ratio * children, spread over units (many zero when scarce)
    total = max(1, round(knobs.vac_ratio * knobs.children))
    w = rng.lognormal(0, 0.6, knobs.units)
    vac = rng.multinomial(total, w / w.sum())
    vac = np.minimum(vac, 8)
    if knobs.ties > 0:
        vac = np.full(knobs.units, max(1, total // knobs.units)) if total >= knobs.units else \
            (np.arange(knobs.units) < total).astype(int)
    df["vacancies"] = vac.astype(int)
    return df


def gen_children(rng: np.random.Generator, knobs: argparse.Namespace) -> pd.DataFrame:
    """``referrals.csv``: ages, settings and needs that fit each other; sibling groups share a
    home, settings and urgency, as real groups referred together do."""
    n = knobs.children if knobs.ties <= 0 else knobs.ties
    age = rng.integers(0, 18, n)
    dob = [(AS_OF - timedelta(days=int(a * 365.25 + rng.integers(40, 330)))).isoformat()
           for a in age]
    sex = rng.choice(["M", "F"], n)
    sets = []
    for a in age:
        base = ["foster"] if a < 11 else (["residential"] if rng.random() < 0.5 else ["foster"])
        if a >= 16 and rng.random() < 0.5:
            base = ["supported"]
        if rng.random() < knobs.child_multi_setting:
            extra = ["foster", "residential"] + (["supported"] if a >= 16 else [])
            base = sorted(set(base) | {extra[rng.integers(len(extra))]})
        if a >= 15 and rng.random() < 0.03:
            base = ["parent_child"]
        sets.append(";".join(base))
    needs = []
    for i in range(n):
        k = [c for c in NEEDS if rng.random() < knobs.needs_rate * (2 if c == "SEMH" else 1)]
        if sets[i] == "parent_child":
            k.append("PC")
        needs.append(";".join(k))
    enh = rng.random(n) < knobs.enh_frac
    staffing = np.where(enh, rng.choice(["1:1", "2:1", "3:1"], n, p=[0.6, 0.3, 0.1]), "standard")
    t = rng.choice(HOME_TOWNS, n)
    hlat, hlon = jitter(rng, n, np.array([TOWNS[x][1] for x in t]),
                        np.array([TOWNS[x][2] for x in t]), 1.0)
    has_school = age >= 5
    slat = np.where(has_school, np.round(hlat + rng.normal(0, 0.02, n), 4), np.nan)
    slon = np.where(has_school, np.round(hlon + rng.normal(0, 0.03, n), 4), np.nan)
    ks4 = (age >= 14) & (age <= 16) & (rng.random(n) < knobs.ks4_frac * 3)
    urg = np.where(rng.random(n) < knobs.emerg_frac, "emergency", "planned")
    maxd = np.where(rng.random(n) < knobs.max_dist_frac, rng.choice([15, 20, 30, 50, 80], n),
                    np.nan)
    mind = np.where(rng.random(n) < knobs.min_dist_frac,
                    np.round(rng.uniform(5, knobs.min_dist_max, n), 1), np.nan)
    maxd = np.where(~np.isnan(mind) & ~np.isnan(maxd), np.maximum(maxd, mind + 20), maxd)
    auths = sorted(set(x[0] for x in TOWNS))
    avoid = np.array([";".join(sorted(set([TOWNS[t[i]][0], *rng.choice(
        auths, rng.integers(0, 3), replace=False)])))
        if rng.random() < knobs.avoid_frac else "" for i in range(n)], dtype=object)
    df = pd.DataFrame({
        "child_id": [f"C{i:06d}" for i in range(n)], "date_of_birth": dob, "sex": sex,
        "settings": sets, "needs": needs, "staffing": staffing,
        "therapy_need": rng.random(n) < knobs.therapy_frac, "home_lat": hlat, "home_lon": hlon,
        "school_lat": slat, "school_lon": slon, "key_stage_4": ks4, "urgency": urg,
        "referral_date": iso(-rng.integers(0, 25, n)), "sibling_group": None,
        "keep_together": None, "max_distance_miles": maxd, "min_distance_miles": mind,
        "avoid_authorities": avoid, "expected_weeks": rng.choice([12, 26, 52, 104], n),
        "legal_status": rng.choice(["C1", "C2", "V2", "J2"], n),
        "category_of_need": rng.choice([f"N{i}" for i in range(1, 9)], n),
    })
    if knobs.ties > 0:
        idx = rng.integers(0, knobs.ties, knobs.children)
        df = df.iloc[idx].reset_index(drop=True)
        df["child_id"] = [f"C{i:06d}" for i in range(knobs.children)]
    # sibling groups: consecutive blocks share home, settings, keep flag
    n = len(df)
    want = int(knobs.sib_frac * n)
    order = rng.permutation(n)
    pos, g = 0, 0
    sg = np.full(n, None, dtype=object)
    kt = np.full(n, None, dtype=object)
    while pos < want:
        size = int(rng.integers(knobs.sib_min, knobs.sib_max + 1))
        members = order[pos:pos + size]
        if len(members) < 2:
            break
        pos += size
        lead = members[0]
        for c in ["home_lat", "home_lon", "settings", "urgency", "avoid_authorities",
                  "min_distance_miles", "max_distance_miles"]:
            df.loc[members, c] = df.at[lead, c]
        # siblings in the same group: foster/residential for all ages in the group
        ages = [(AS_OF - date.fromisoformat(df.at[m, "date_of_birth"])).days / 365.25
                for m in members]
        if min(ages) < 16 and "supported" in df.at[lead, "settings"]:
            df.loc[members, "settings"] = "foster;residential"
        sg[members] = f"G{g:05d}"
        keep = not (rng.random() < knobs.keep_false_frac)
        kt[members] = keep
        if rng.random() < knobs.mixed_keep_frac:
            kt[members[0]] = True
            kt[members[1:]] = False
        g += 1
    df["sibling_group"] = sg
    df["keep_together"] = kt
    return df


def gen_conflicts(rng: np.random.Generator, knobs: argparse.Namespace,
                  ch: pd.DataFrame) -> pd.DataFrame:
    """``conflicts.csv``: ``--conf-min``..``--conf-max`` per child, mostly between children
    living near each other (who compete for the same units), never within a sibling group."""
    if knobs.conf_max <= 0:
        return pd.DataFrame(columns=["child_a", "child_b", "reason"])
    n = len(ch)
    per = rng.integers(knobs.conf_min, knobs.conf_max + 1, n)
    order = np.argsort(ch["home_lat"].to_numpy() * 1000 + ch["home_lon"].to_numpy())
    rank = np.empty(n, int)
    rank[order] = np.arange(n)
    pairs = set()
    sib = ch["sibling_group"].to_numpy()
    for i in range(n):
        for _ in range(per[i] // 2 + (per[i] % 2 if rng.random() < 0.5 else 0)):
            if rng.random() < knobs.conf_local:
                j = order[min(n - 1, max(0, rank[i] + int(rng.integers(-20, 21))))]
            else:
                j = int(rng.integers(n))
            if j == i or (sib[i] is not None and sib[i] == sib[j]):
                continue
            pairs.add((min(i, j), max(i, j)))
    ids = ch["child_id"].to_numpy()
    ordered = sorted(pairs)
    return pd.DataFrame({"child_a": [ids[a] for a, _ in ordered],
                         "child_b": [ids[b] for _, b in ordered],
                         "reason": rng.choice(["previous peer conflict", "exploitation link",
                                               "harmful sexual behaviour risk"], len(ordered))})


def gen_offers(rng: np.random.Generator, knobs: argparse.Namespace, ch: pd.DataFrame,
               un: pd.DataFrame) -> pd.DataFrame | None:
    """``offers.csv`` (None without ``--offers-max``): each child gets offers from units of its
    settings near home, with ``capacity_use`` up to ``--capuse-max`` priced up accordingly."""
    if knobs.offers_max <= 0:
        return None
    rows = []
    uset = un["setting"].to_numpy()
    ulat = un["lat"].to_numpy()
    ulon = un["lon"].to_numpy()
    uprice = un["weekly_price"].to_numpy()
    uid = un["unit_id"].to_numpy()
    by_setting = {s: np.flatnonzero(uset == s) for s in SETTINGS}
    add = {"standard": 0, "1:1": 1800, "2:1": 3600, "3:1": 5400}
    shares = [0.6, 0.3, 0.1][:knobs.capuse_max]
    for _, r in ch.iterrows():
        cand = np.concatenate([by_setting[s] for s in r["settings"].split(";")])
        if len(cand) == 0:
            continue
        d = (ulat[cand] - r["home_lat"]) ** 2 + ((ulon[cand] - r["home_lon"]) * 0.6) ** 2
        near = cand[np.argsort(d)[:max(200, knobs.offers_max * 5)]]
        k = min(len(near), int(rng.integers(knobs.offers_min, knobs.offers_max + 1)))
        for u in rng.choice(near, k, replace=False):
            cu = int(rng.choice(np.arange(1, knobs.capuse_max + 1),
                                p=np.array(shares) / sum(shares)))
            rows.append((r["child_id"], uid[u],
                         round(float(uprice[u] * rng.uniform(0.85, 1.25) * (1 + 0.3 * (cu - 1))
                                     + add[r["staffing"]]), 2),
                         int(rng.integers(40, 101)) if rng.random() < 0.8 else np.nan, cu))
    return pd.DataFrame(rows, columns=["child_id", "unit_id", "weekly_price", "quality_score",
                                       "capacity_use"])


def gen_policy(rng: np.random.Generator, knobs: argparse.Namespace) -> dict[str, Any]:
    """``policy.yaml``: the contract's defaults except the fallbacks (none, the default two,
    or seven across routes and settings, at scaled prices, with random capacities) and the
    few rules and weights the knobs set."""
    f = knobs.fb_price_factor
    if knobs.fallbacks == "none":
        fbs = []
    elif knobs.fallbacks == "rich":
        fbs = [
            {"route": "lcr", "setting": "residential", "weekly_price": 5200 * f,
             "distance_miles": 30},
            {"route": "regional", "setting": "foster", "weekly_price": 980 * f,
             "distance_miles": 35},
            {"route": "spot", "setting": "residential", "weekly_price": 6500 * f,
             "distance_miles": 60},
            {"route": "spot", "setting": "foster", "weekly_price": 1300 * f,
             "distance_miles": 50},
            {"route": "regional", "setting": "supported", "weekly_price": 1900 * f,
             "distance_miles": 25},
            {"route": "lcr", "setting": "parent_child", "weekly_price": 4200 * f,
             "distance_miles": 40},
            {"route": "pdps", "setting": "foster", "weekly_price": 900 * f,
             "distance_miles": 20},
        ]
    else:
        fbs = [{"route": "lcr", "setting": "residential", "weekly_price": 5200 * f,
                "distance_miles": 30},
               {"route": "regional", "setting": "foster", "weekly_price": 980 * f,
                "distance_miles": 35}]
    for fb in fbs:
        fb["weekly_price"] = round(fb["weekly_price"], 2)
        if knobs.fb_cap == "null":
            fb["capacity"] = None
        else:
            lo, hi = (int(x) for x in knobs.fb_cap.split(","))
            fb["capacity"] = int(rng.integers(lo, hi + 1))
    pol: dict[str, Any] = {"fallbacks": fbs}
    rules = {}
    if knobs.policy_max_dist is not None:
        rules["max_distance_miles"] = knobs.policy_max_dist
    if rules:
        pol["rules"] = rules
    if knobs.offer_quality:
        pol["weights"] = {"offer_quality_point": knobs.offer_quality}
    return pol


def generate(knobs: argparse.Namespace, folder: Path) -> str:
    """Write ``folder/input/*.csv`` and ``folder/policy.yaml``; return a line of counts.

    One seeded generator is split into five streams (units, children, conflicts, offers,
    policy), so the same knobs give the same bytes on any machine with the same numpy and
    pandas. Booleans in object columns (``keep_together``) are written ``true``/``false``.
    """
    rng = np.random.default_rng(knobs.seed)
    r_u, r_c, r_k, r_o, r_p = rng.spawn(5)
    un = gen_units(r_u, knobs)
    ch = gen_children(r_c, knobs)
    cf = gen_conflicts(r_k, knobs, ch)
    of = gen_offers(r_o, knobs, ch, un)
    pol = gen_policy(r_p, knobs)
    (folder / "input").mkdir(parents=True, exist_ok=True)
    for frame in (ch, un, cf):
        for c in frame.columns:
            if frame[c].dtype == object and frame[c].map(lambda v: isinstance(v, bool)).any():
                frame[c] = frame[c].map(lambda v: "" if v is None else ("true" if v else "false"))
    for frame, file in ((ch, "referrals"), (un, "units"), (cf, "conflicts"), (of, "offers")):
        if frame is not None:
            frame.to_csv(folder / "input" / f"{file}.csv", index=False, na_rep="")
    (folder / "policy.yaml").write_text(yaml.safe_dump(pol, sort_keys=False))
    sibs = ch["sibling_group"].notna().sum()
    return (f"{len(ch)} children ({sibs} in groups, {(ch.staffing != 'standard').sum()} "
            f"enhanced, {(ch.urgency == 'emergency').sum()} emergency), {len(un)} units "
            f"({un.vacancies.sum()} vacancies), {len(cf)} conflicts, "
            f"{0 if of is None else len(of)} offers, {len(pol['fallbacks'])} fallbacks")


# --------------------------------------------------------------------------------- runner

def pdps() -> list[str]:
    """The ``pdps`` command of this interpreter's environment.

    ``python -m allocator.cli`` runs nothing (the module has no ``__main__`` block), so this
    is the entry point installed beside ``sys.executable``, or the same function called
    through ``-c`` where the package is importable but not installed.
    """
    script = Path(sys.executable).with_name("pdps")
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-c", "from allocator.cli import main; main()"]


def input_args(folder: Path) -> list[str]:
    """The input options of ``pdps allocate`` and ``pdps check`` for a generated market."""
    inputs = folder / "input"
    files = ["-r", str(inputs / "referrals.csv"), "-u", str(inputs / "units.csv"),
             "--conflicts", str(inputs / "conflicts.csv"), "--policy",
             str(folder / "policy.yaml"), "--as-of", AS_OF.isoformat()]
    if (inputs / "offers.csv").exists():
        files += ["--offers", str(inputs / "offers.csv")]
    return files


def timed(command: list[str], log: Path) -> tuple[int, float, float]:
    """Run ``command`` with its output in ``log``; its exit code, wall seconds and peak MiB.

    The peak is that one process's ``ru_maxrss`` from ``os.wait4``: the same kernel figure
    as ``/usr/bin/time`` (which may be absent) and ``getrusage(RUSAGE_CHILDREN)``, but the
    latter is the largest of every child waited for so far, so from the second market on it
    would report the biggest earlier one.
    """
    with log.open("wb") as out:
        start = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    scale = 1024 * 1024 if sys.platform == "darwin" else 1024  # bytes on macOS, KiB on Linux
    return process.returncode, wall, usage.ru_maxrss / scale


def run_market(name: str, folder: Path, time_limit: float | None) -> dict[str, Any]:
    """Generate the market into ``folder``, allocate it, check the allocation.

    Returns the row: counts, ``allocate``'s exit code, wall seconds and peak MiB, the
    summary's status, objective, bound, gap and stage seconds, and ``check``'s exit code
    (None when there was no allocation to check). Logs stay in ``folder``.
    """
    knobs = knobs_of(name)
    start = time.perf_counter()
    counts = generate(knobs, folder)
    row: dict[str, Any] = {"name": name, "size": f"{knobs.children:,} x {knobs.units:,}",
                           "counts": counts, "generate_s": time.perf_counter() - start}
    out = folder / "out"
    command = [*pdps(), "allocate", *input_args(folder), "-o", str(out)]
    if time_limit is not None:
        command += ["--time-limit", str(time_limit)]
    row["allocate_rc"], row["wall_s"], row["peak_mib"] = timed(command, folder / "allocate.log")
    row["check_rc"] = None
    summary = out / "summary.json"
    if row["allocate_rc"] == 0 and summary.exists():
        figures = json.loads(summary.read_text(encoding="utf-8"))
        row.update({key: figures.get(key) for key in
                    ("status", "objective", "bound", "gap", "gap_pounds", "seconds")})
        check = subprocess.run([*pdps(), "check", "-a", str(out / "allocation.csv"),
                                *input_args(folder)], capture_output=True, text=True)
        (folder / "check.log").write_text(check.stdout + check.stderr, encoding="utf-8")
        row["check_rc"] = check.returncode
    if row["allocate_rc"] != 0:
        row["error"] = _tail(folder / "allocate.log")
    elif row["check_rc"] != 0:
        row["error"] = _tail(folder / "check.log") if row["check_rc"] is not None else \
            "allocate wrote no summary.json"
    return row


def _tail(log: Path, lines: int = 3) -> str:
    """The last lines of a log, joined, for a failure's row."""
    text = log.read_text(encoding="utf-8", errors="replace").splitlines()
    return " | ".join([line for line in text if line.strip()][-lines:])


HEADER = (f"{'market':18} {'children x units':>17} {'status':>9} {'objective':>15} "
          f"{'gap':>22} {'solve s':>8} {'wall s':>7} {'peak MiB':>8} {'check':>5}")


def format_row(row: dict[str, Any]) -> str:
    """One table line; a failed ``allocate`` shows its exit code instead of figures."""
    if row["allocate_rc"] != 0 or "status" not in row:
        return (f"{row['name']:18} {row['size']:>17} allocate FAILED (exit "
                f"{row['allocate_rc']}) after {row['wall_s']:.1f} s, {row['peak_mib']:.0f} MiB")
    objective = f"£{row['objective']:,.2f}"
    gap = f"£{row['gap_pounds']:,.2f} ({row['gap']:.4%})"
    check = {0: "OK", None: "-"}.get(row["check_rc"], "FAIL")
    return (f"{row['name']:18} {row['size']:>17} {row['status']:>9} "
            f"{objective:>15} {gap:>22} {row['seconds'].get('solve', 0.0):8.2f} "
            f"{row['wall_s']:7.2f} {row['peak_mib']:8.0f} {check:>5}")


def list_markets() -> None:
    """Print each market's name, size, seed and the knobs it sets."""
    for name, args in MARKETS.items():
        knobs = knobs_of(name)
        tokens = shlex.split(args)  # every knob takes a value: flag, value, flag, value, ...
        pairs = zip(tokens[::2], tokens[1::2], strict=True)
        rest = " ".join(f"{flag} {value}" for flag, value in pairs
                        if flag not in ("--children", "--units", "--seed"))
        print(f"{name:18} {knobs.children:>6,} x {knobs.units:<7,} seed {knobs.seed:<4} {rest}")


def main(argv: list[str] | None = None) -> int:
    """Parse the command line, run or write the chosen markets; 1 if any run failed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--market", action="append", default=[], choices=list(MARKETS),
                        metavar="NAME", help="a market to run (repeatable; see --list)")
    parser.add_argument("--all", action="store_true",
                        help="every market, in --list order (several minutes; the 3,000 x "
                        "10,000 ones take the most time and memory)")
    parser.add_argument("--list", action="store_true", help="print the markets and stop")
    parser.add_argument("--time-limit", type=float, default=None, metavar="S",
                        help="pdps allocate --time-limit (default: the policy's, 30 s)")
    parser.add_argument("--keep", type=Path, default=None, metavar="DIR",
                        help="keep each market's files, outputs and logs in DIR/NAME")
    parser.add_argument("--generate-only", action="store_true",
                        help="write one market's files to --out and print the pdps commands")
    parser.add_argument("--out", type=Path, default=None, metavar="DIR",
                        help="folder for --generate-only")
    args = parser.parse_args(argv)
    if args.list:
        list_markets()
        return 0
    names = list(MARKETS) if args.all else list(dict.fromkeys(args.market))
    if not names:
        parser.error("give --market NAME (repeatable), --all or --list")
    if args.generate_only:
        if len(names) != 1 or args.out is None:
            parser.error("--generate-only writes one market: give one --market and --out DIR")
        print(f"{names[0]}: {generate(knobs_of(names[0]), args.out)}")
        files = " ".join(shlex.quote(a) for a in input_args(args.out))
        print(f"pdps allocate {files} -o {shlex.quote(str(args.out / 'out'))}")
        print(f"pdps check -a {shlex.quote(str(args.out / 'out' / 'allocation.csv'))} {files}")
        return 0
    if args.keep is not None:
        taken = [n for n in names if (args.keep / n).exists()]
        if taken:
            parser.error(f"{args.keep} already holds {', '.join(taken)}: choose another --keep")

    load = os.getloadavg()[0]
    limit = "the policy's" if args.time_limit is None else f"{args.time_limit:g} s"
    print(f"engine commit {engine_commit()}; {' '.join(pdps())}; time limit {limit}; "
          f"{os.cpu_count()} CPUs, load average {load:.2f} before the run\n")
    print(HEADER, flush=True)
    rows = []
    for name in names:
        if args.keep is not None:
            folder = args.keep / name
            folder.mkdir(parents=True)
            rows.append(run_market(name, folder, args.time_limit))
        else:
            with tempfile.TemporaryDirectory(prefix=f"pdps-stress-{name}-") as tmp:
                rows.append(run_market(name, Path(tmp), args.time_limit))
        print(format_row(rows[-1]), flush=True)

    print()
    for row in rows:
        stages = ", ".join(f"{k} {v:.2f}" for k, v in (row.get("seconds") or {}).items())
        print(f"  {row['name']}: {row['counts']}; generated in {row['generate_s']:.1f} s"
              + (f"; stages (s): {stages}" if stages else ""))
        if "error" in row:
            print(f"    {row['error']}")
    failed = [r["name"] for r in rows if "error" in r]
    print(f"\nload average {os.getloadavg()[0]:.2f} after the run")
    if failed:
        print(f"FAILED: {', '.join(failed)} (allocate or check exited non-zero)")
        return 1
    print(f"all {len(rows)} allocated and checked (every exit 0)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
