"""The stress markets' generator: contract files from a seed and one knob per structure.

Split from ``stress.py`` (which names the markets and runs them) to keep each module short.
It writes ``referrals.csv``, ``units.csv``, ``conflicts.csv``, ``offers.csv`` when a market
has offers, and a ``policy.yaml``. Every random draw is made in the order of the generator
that built the markets ``docs/performance.md`` quotes, so the same knobs give the same
bytes: reordering or merging draws would change every market.
"""

from __future__ import annotations

import argparse
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

#: The date every market is generated for; ``pdps allocate`` and ``check`` get it as --as-of.
AS_OF = date(2026, 11, 25)

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
    needs_supported = []
    for i in range(n):
        k = [c for c in NEEDS if rng.random() < knobs.unit_needs_rate]
        if setting[i] == "parent_child":
            k.append("PC")
        needs_supported.append(";".join(k))
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
        "age_min": amin, "age_max": amax, "sexes": sexes, "needs_supported": needs_supported,
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
    groups = np.full(n, None, dtype=object)
    keep_flags = np.full(n, None, dtype=object)
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
        groups[members] = f"G{g:05d}"
        keep = not (rng.random() < knobs.keep_false_frac)
        keep_flags[members] = keep
        if rng.random() < knobs.mixed_keep_frac:
            keep_flags[members[0]] = True
            keep_flags[members[1:]] = False
        g += 1
    df["sibling_group"] = groups
    df["keep_together"] = keep_flags
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


#: The policy's fallbacks: the contract's two, or seven across routes and settings (the
#: same two first). Prices are scaled by ``--fb-price-factor``.
DEFAULT_FALLBACKS: list[dict[str, Any]] = [
    {"route": "lcr", "setting": "residential", "weekly_price": 5200, "distance_miles": 30},
    {"route": "regional", "setting": "foster", "weekly_price": 980, "distance_miles": 35},
]
RICH_FALLBACKS: list[dict[str, Any]] = [
    *DEFAULT_FALLBACKS,
    {"route": "spot", "setting": "residential", "weekly_price": 6500, "distance_miles": 60},
    {"route": "spot", "setting": "foster", "weekly_price": 1300, "distance_miles": 50},
    {"route": "regional", "setting": "supported", "weekly_price": 1900, "distance_miles": 25},
    {"route": "lcr", "setting": "parent_child", "weekly_price": 4200, "distance_miles": 40},
    {"route": "pdps", "setting": "foster", "weekly_price": 900, "distance_miles": 20},
]


def gen_policy(rng: np.random.Generator, knobs: argparse.Namespace) -> dict[str, Any]:
    """``policy.yaml``: the contract's defaults except the fallbacks (none, the default two,
    or seven across routes and settings, at scaled prices, with random capacities) and the
    few rules and weights the knobs set."""
    factor = knobs.fb_price_factor
    chosen = {"none": [], "rich": RICH_FALLBACKS}.get(knobs.fallbacks, DEFAULT_FALLBACKS)
    fallbacks = [{**fb, "weekly_price": fb["weekly_price"] * factor} for fb in chosen]
    for fb in fallbacks:
        fb["weekly_price"] = round(fb["weekly_price"], 2)
        if knobs.fb_cap == "null":
            fb["capacity"] = None
        else:
            lo, hi = (int(x) for x in knobs.fb_cap.split(","))
            fb["capacity"] = int(rng.integers(lo, hi + 1))
    policy: dict[str, Any] = {"fallbacks": fallbacks}
    rules = {}
    if knobs.policy_max_dist is not None:
        rules["max_distance_miles"] = knobs.policy_max_dist
    if rules:
        policy["rules"] = rules
    if knobs.offer_quality:
        policy["weights"] = {"offer_quality_point": knobs.offer_quality}
    return policy


def generate(knobs: argparse.Namespace, folder: Path) -> str:
    """Write ``folder/input/*.csv`` and ``folder/policy.yaml``; return a line of counts.

    One seeded generator is split into five streams (units, children, conflicts, offers,
    policy), so the same knobs give the same bytes on any machine with the same numpy and
    pandas. Booleans in object columns (``keep_together``) are written ``true``/``false``.
    """
    rng = np.random.default_rng(knobs.seed)
    r_u, r_c, r_k, r_o, r_p = rng.spawn(5)
    units = gen_units(r_u, knobs)
    children = gen_children(r_c, knobs)
    conflicts = gen_conflicts(r_k, knobs, children)
    offers = gen_offers(r_o, knobs, children, units)
    policy = gen_policy(r_p, knobs)
    (folder / "input").mkdir(parents=True, exist_ok=True)
    for frame in (children, units, conflicts):
        for c in frame.columns:
            if frame[c].dtype == object and frame[c].map(lambda v: isinstance(v, bool)).any():
                frame[c] = frame[c].map(lambda v: "" if v is None else ("true" if v else "false"))
    named = ((children, "referrals"), (units, "units"), (conflicts, "conflicts"),
             (offers, "offers"))
    for frame, file in named:
        if frame is not None:
            frame.to_csv(folder / "input" / f"{file}.csv", index=False, na_rep="")
    (folder / "policy.yaml").write_text(yaml.safe_dump(policy, sort_keys=False))
    sibs = children["sibling_group"].notna().sum()
    enhanced = (children.staffing != "standard").sum()
    return (f"{len(children)} children ({sibs} in groups, {enhanced} "
            f"enhanced, {(children.urgency == 'emergency').sum()} emergency), {len(units)} units "
            f"({units.vacancies.sum()} vacancies), {len(conflicts)} conflicts, "
            f"{0 if offers is None else len(offers)} offers, {len(policy['fallbacks'])} fallbacks")
