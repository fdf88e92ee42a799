"""``report.html``: one self-contained page a commissioner or a Cabinet Member can read.

The page answers, in order: what does this allocation achieve against today's practice;
who goes where and who must sign what; who could not be placed and why; where the money
goes; how far children would be from home; and from which areas to which. It has no script,
no stylesheet or image from elsewhere and no font download, so it opens the same offline, in
an email attachment or printed. Every piece of text from the data is escaped.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape
from pathlib import Path
from typing import Any

import numpy as np

from allocator.reports import charts
from allocator.reports.run import RunOutputs, load_run
from allocator.write import check_out_file, write_file_whole

#: Rows of the placements table shown in the page; the CSV always has every child.
MAX_ROWS = 2000

#: Who signs, and why, for each approval code of the contract's approvals table.
APPROVAL_WORDS = {
    "executive_director_csc": ("Executive Director of Children's Social Care and Education",
                               "any placement bought rather than in-house (delegated "
                               "call-off authority)"),
    "nominated_officer": ("Nominated officer",
                          "placement outside the home authority (CPPCR 2010 reg 11)"),
    "dcs": ("Director of Children's Services",
            "placement at a distance: outside the home authority and every adjoining one"),
    "ks4_nominated_officer": ("Nominated officer (Key Stage 4)",
                              "a school move in Year 10 or 11 (CPPCR 2010 reg 10)"),
    "executive_director_asc": ("Executive Director of Adult Social Care and Health",
                               "17 or over, or turning 18 during the placement "
                               "(transition to adult budgets)"),
}

#: Short names for the approvals column of the placements table.
APPROVAL_SHORT = {"executive_director_csc": "Exec Director CSC", "nominated_officer":
                  "nominated officer", "dcs": "DCS", "ks4_nominated_officer": "KS4 officer",
                  "executive_director_asc": "Exec Director ASC"}

CSS = """
body{font-family:"DejaVu Sans",Arial,Helvetica,sans-serif;color:#1d2733;margin:0;
background:#fff;line-height:1.45}
main{max-width:1100px;margin:0 auto;padding:24px 32px 48px}
h1{font-size:26px;margin:0 0 4px}h2{font-size:19px;margin:36px 0 8px;
border-bottom:2px solid #1f6f8b;padding-bottom:4px}
.sub{color:#5b6773;margin:0 0 16px}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:12px;
margin:16px 0}
.card{border:1px solid #d9dee3;border-left:6px solid #1f6f8b;padding:10px 14px;
background:#f5f8fa}
.card b{display:block;font-size:24px}.card span{color:#5b6773;font-size:13px}
.lead{font-size:17px}
table{border-collapse:collapse;width:100%;font-size:13px;margin:8px 0}
th,td{border-bottom:1px solid #d9dee3;padding:4px 6px;text-align:left;vertical-align:top}
th{background:#eef2f5}td.n,th.n{text-align:right;white-space:nowrap}
.note{color:#5b6773;font-size:13px}
.tag{display:inline-block;background:#eef2f5;border-radius:3px;padding:0 4px;margin:1px;
font-size:12px;white-space:nowrap}
svg{max-width:100%;height:auto}td.why{min-width:200px}.wide{overflow-x:auto}
.wide table{font-size:12px}.wide td:nth-child(2){word-break:break-word;max-width:130px}
@media print{main{padding:0}h2{break-after:avoid}}
"""


def render_allocation_report(folder: str | Path, *, referrals: str | Path | None = None,
                             units: str | Path | None = None) -> str:
    """The HTML page for the run in ``folder`` (see :func:`allocator.reports.run.load_run`)."""
    run = load_run(folder, referrals=referrals, units=units)
    body = "\n".join([
        _header(run), _headline(run), _approvals(run), _unplaced(run), _spend(run),
        _place_values(run), _distance(run), _map(run), _placements(run), _about(run),
    ])
    title = f"Placement recommendations, {run.summary.get('as_of', '')}"
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{escape(title)}</title><style>{CSS}</style></head>\n"
            f"<body><main>\n{body}\n</main></body></html>\n")


def write_allocation_report(folder: str | Path, out: str | Path | None = None, *,
                            referrals: str | Path | None = None,
                            units: str | Path | None = None) -> Path:
    """Write the page to ``out`` (default ``folder/report.html``) whole or not at all.

    The page is written to a temporary file beside the target and renamed over it, so a
    reader never opens half a report and a failed run leaves the old one in place.
    """
    # Checked before the work (found in review: a 300-character name was exit 1).
    target = check_out_file(out) if out is not None else Path(folder) / "report.html"
    html = render_allocation_report(folder, referrals=referrals, units=units)
    return write_file_whole(target, lambda staging: staging.write_text(html, encoding="utf-8"))


# ---------------------------------------------------------------- formatting helpers

def money(value: Any) -> str:
    """``£1,234.50``; a blank for a missing amount."""
    return "" if _missing(value) else f"£{float(value):,.2f}"


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value)) or value == ""


def _number(value: Any, digits: int = 1) -> str:
    return "" if _missing(value) else f"{float(value):,.{digits}f}"


def _table(headers: Sequence[str], rows: Iterable[Sequence[str]],
           numeric: Sequence[int] = (), raw: Sequence[int] = (),
           wide: Sequence[int] = ()) -> str:
    """An HTML table; every cell escaped except the columns in ``raw`` (built here).

    ``numeric`` columns are right-aligned; ``wide`` ones (sentences) get room to read.
    """
    def cell(tag: str, k: int, text: str) -> str:
        css = ' class="n"' if k in numeric else ' class="why"' if k in wide else ""
        return f"<{tag}{css}>{text if k in raw else escape(str(text))}</{tag}>"

    head = "".join(cell("th", k, h) for k, h in enumerate(headers))
    body = "\n".join("<tr>" + "".join(cell("td", k, v) for k, v in enumerate(row)) + "</tr>"
                     for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>\n{body}\n</tbody></table>"


def _tags(items: Iterable[str]) -> str:
    return " ".join(f'<span class="tag">{escape(i)}</span>' for i in items if i)


def _card(value: str, label: str) -> str:
    return f'<div class="card"><b>{escape(value)}</b><span>{escape(label)}</span></div>'


# ---------------------------------------------------------------- sections

def _header(run: RunOutputs) -> str:
    s = run.summary
    status = ("proven optimal" if s.get("status") == "optimal"
              else f"{s.get('status')}: within £{float(s.get('gap_pounds') or 0):,.2f} of the "
                   "best possible")
    return (f"<h1>Placement recommendations as of {escape(str(s.get('as_of', '')))}</h1>"
            f'<p class="sub">{escape(str(s["children"]))} children referred; allocation '
            f"{escape(status)}. These are recommendations: people decide, and each placement "
            "takes effect only with the approvals listed.</p>")


def _headline(run: RunOutputs) -> str:
    s = run.summary
    versus = s["against_greedy"]
    saving = float(versus["saving_weekly_cost"])
    approvals = int(sum(s["approvals_needed"].values()))
    signing = int((run.allocation["approvals"].fillna("") != "").sum())
    cards = "".join([
        _card(f"{s['placed']} of {s['children']}", "children placed"),
        _card(money(s["total_weekly_cost"]), "weekly spend"),
        _card(money(abs(saving)), "a week " + ("saved against" if saving >= 0 else
                                               "more than") + " today's practice"),
        _card(f"{approvals}", f"approvals to sign, for {signing} children"),
        _card(f"{float(s.get('percent_in_borough', 0)):.1f}%", "placed in borough"),
        _card(f"{float(s.get('percent_over_20_miles', 0)):.1f}%",
              "placed over 20 miles from home (fallbacks at their assumed distance)"),
    ])
    via = s.get("placed_via_fallback", 0)
    miles = float(versus.get("saving_total_distance_miles", 0))
    lead = (f"Placed {s['placed']} of {s['children']} children ({via} through the LCR or "
            f"regional purchasing systems, {s['unplaced']} not placed). Weekly spend "
            f"{money(s['total_weekly_cost'])}: {money(abs(saving))} a week "
            + ("less" if saving >= 0 else "more")
            + f" than today's practice, and {abs(miles):,.1f} "
            + ("fewer" if miles >= 0 else "more") + " miles from home in total.")
    greedy, mine = versus["greedy"], versus["optimised"]
    measures = [("weekly spend", "weekly_cost", money), ("children placed", "placed", str),
                ("through fallbacks", "fallback_use", str), ("not placed", "unplaced", str),
                ("mean miles from home", "mean_distance_miles", _number),
                ("total miles from home", "total_distance_miles", _number),
                ("children over 20 miles", "over_20_miles", str),
                ("objective (£-equivalent)", "objective", money)]
    rows = []
    for label, key, show in measures:
        a, b = greedy.get(key), mine.get(key)
        diff = "" if _missing(a) or _missing(b) else float(b) - float(a)
        shown = "" if diff == "" else (("+" if diff > 0 else "") + (
            money(diff) if show is money else _number(diff, 0 if show is str else 1)))
        rows.append((label, show(a) if not _missing(a) else "", show(b) if not _missing(b)
                     else "", shown.replace("£-", "-£")))
    table = _table(["measure", "today's practice", "recommended", "difference"], rows,
                   numeric=(1, 2, 3))
    return (f'<h2>Headline</h2><div class="cards">{cards}</div><p class="lead">'
            f"{escape(lead)}</p>{table}"
            '<p class="note">Today\'s practice: children placed one at a time, emergencies '
            "first and then by referral date, each in the cheapest option still open, as a "
            "placement team ringing round does. Both columns use the same children, units and "
            "rules.</p>")


def _placements(run: RunOutputs) -> str:
    frame = run.allocation[run.allocation["option"] != "unplaced"]
    shown = frame.head(MAX_ROWS)
    rows = []
    for r in shown.itertuples():
        rows.append((r.child_id, r.option, r.setting, r.route, money(r.weekly_cost),
                     _number(r.distance_miles), "yes" if r.in_borough else "no",
                     _tags(APPROVAL_SHORT.get(a, a) for a in str(r.approvals).split(";")),
                     r.reason, r.next_best))
    more = (f'<p class="note">The first {MAX_ROWS:,} of {len(frame):,} placements are shown; '
            "allocation.csv has every child.</p>" if len(frame) > MAX_ROWS else "")
    headers = ["child", "placement", "setting", "route", "£ a week", "miles", "in borough",
               "approvals", "why", "runner-up (extra cost to the whole allocation)"]
    return ("<h2>Every placement, its approvals and why</h2>"
            '<div class="wide">'
            + _table(headers, rows, numeric=(4, 5), raw=(7,), wide=(8,)) + "</div>" + more)


def _approvals(run: RunOutputs) -> str:
    counts = run.summary.get("approvals_needed", {})
    known = [code for code in APPROVAL_WORDS if counts.get(code)]
    other = [code for code in counts if code not in APPROVAL_WORDS and counts[code]]
    rows = [(*APPROVAL_WORDS.get(code, (code, "")), str(counts[code]))
            for code in known + other]
    if not rows:
        return ("<h2>Approvals needed</h2><p>No placement needs an approval beyond the "
                "placement team's.</p>")
    return ("<h2>Approvals needed</h2><p>A placement takes effect only when each approval "
            "it needs is given; the table of every placement below lists them child by "
            "child.</p>" + _table(["who signs", "when", "placements"], rows, numeric=(2,)))


def _unplaced(run: RunOutputs) -> str:
    frame = run.allocation[run.allocation["option"] == "unplaced"]
    if frame.empty:
        return "<h2>Children not placed</h2><p>Every child referred was placed.</p>"
    rows = [(r.child_id, r.reason,
             _tags(part.strip() for part in str(getattr(r, "excluded_by", "")).split(";")),
             str(getattr(r, "eligible_options", "")))
            for r in frame.itertuples()]
    return (f"<h2>Children not placed ({len(frame)})</h2>"
            "<p>Each needs a decision by people: relax a rule in the care plan, commission a "
            "place, or go to spot purchase. 'Units excluded by' counts the listed units each "
            "hard rule ruled out (exclusions.csv names the units).</p>"
            + _table(["child", "why", "units excluded by", "eligible options"], rows,
                     numeric=(3,), raw=(2,), wide=(1,)))


def _spend(run: RunOutputs) -> str:
    s = run.summary
    total = float(s["total_weekly_cost"]) or 1.0
    rows = [(kind, name, money(v), f"{100 * float(v) / total:.1f}%")
            for kind, key in (("route", "spend_by_route"), ("setting", "spend_by_setting"))
            for name, v in s[key].items()]
    committed = s.get("committed_cost")
    note = (f'<p class="note">Committed over each child\'s expected weeks: '
            f"{money(committed)}.</p>" if committed is not None else "")
    return ("<h2>Spend by route and setting</h2>"
            + charts.spend_chart(s["spend_by_route"], s["spend_by_setting"])
            + _table(["by", "name", "£ a week", "share"], rows, numeric=(2, 3)) + note)


def _place_values(run: RunOutputs) -> str:
    """Market intelligence from summary.json's place_values (runs before it: nothing)."""
    values = run.summary.get("place_values")
    if not isinstance(values, dict) or "most_valuable" not in values:
        return ""
    rows = [(str(v.get("option", "")), str(v.get("kind", "")),
             money(v.get("value_of_one_more_place"))) for v in values["most_valuable"]]
    if not rows:
        return ("<h2>Where one more place would save most</h2><p>No unit or capped fallback "
                "was short of places: one more place anywhere would save nothing.</p>")
    return ("<h2>Where one more place would save most</h2>"
            + _table(["option", "kind", "£ a week saved"], rows, numeric=(2,))
            + f'<p class="note">{escape(str(values.get("options_worth_more", len(rows))))} '
            "options in all would save something with one more place; place_values.csv lists "
            "every unit and fallback. An estimate from the LP relaxation's duals: exact for "
            "the relaxation, it can overstate what one place is worth to the allocation, and "
            "several places are not worth several times one.</p>")


def _distance(run: RunOutputs) -> str:
    frame = run.allocation
    at_units = frame[(frame["option"] != "unplaced")
                     & ~frame["option"].str.startswith("fallback:")]
    miles = at_units["distance_miles"].to_numpy(dtype=float)
    if not len(miles):
        return "<h2>Distance from home</h2><p>No child was placed in a listed unit.</p>"
    over = int((miles > 20).sum())
    mean = float(np.nanmean(miles))
    return ("<h2>Distance from home</h2>" + charts.distance_chart(miles)
            + f"<p>{over} of {len(miles)} children placed in listed units would live over 20 "
            f"miles from home; the mean is {mean:,.1f} miles. Nationally about 16% of first "
            "placements are over 20 miles from home (DfE). Children placed through a "
            "purchasing system are costed at its assumed distance until a provider is "
            "found.</p>")


def _map(run: RunOutputs) -> str:
    heading = "<h2>From home to placement, by area</h2>"
    if run.flows is None:
        return heading + f'<p class="note">No map: {escape(run.flows_note)}.</p>'
    home = str((run.manifest.get("policy") or {}).get("home_authority", "Sefton"))
    flows = run.flows
    rows = [(r.local_authority, str(r.children),
             "home authority" if r.local_authority == home else "")
            for r in flows.areas.itertuples()]
    return (heading + charts.flow_map(flows, home)
            + '<p class="note">Each line joins an area of about 3.5 miles where children live '
            "to the local authority of their placement, drawn at the centre of that "
            "authority's listed units; its width is the number of children. No child or "
            "carer is shown. "
            + (f"{flows.via_fallback} children placed through a purchasing system are not "
               "drawn: their location is known only when a provider is found." if
               flows.via_fallback else "") + "</p>"
            + _table(["placement authority", "children", ""], rows, numeric=(1,)))


def _about(run: RunOutputs) -> str:
    s, m = run.summary, run.manifest
    if s.get("status") == "optimal":
        proof = (f"Proven optimal: the objective {money(s.get('objective'))} equals the "
                 f"lower bound {money(s.get('bound'))}; no allocation under these rules and "
                 "weights costs less.")
    else:
        proof = (f"Status {s.get('status')}: objective {money(s.get('objective'))}, lower "
                 f"bound {money(s.get('bound'))}; a better allocation may exist.")
    inputs = [(role, str(entry.get("file", "")), str(entry.get("sha256") or "")[:16])
              for role, entry in (m.get("inputs") or {}).items()]
    facts = [("tool", f"{m.get('tool', 'pdps-allocator')} {m.get('version', '')}"),
             ("method", str(m.get("method", s.get("method", "")))),
             ("as of", str(m.get("as_of", s.get("as_of", "")))),
             ("seed", str(m.get("seed", ""))), ("run at", str(m.get("created_at", "")))]
    return ("<h2>About this report</h2>"
            f"<p>{escape(proof)} The objective adds to each price the council's weights for "
            "distance, placing out of area or at a distance, Key Stage 4 school moves, Ofsted "
            "grade and purchasing route (docs/method.md).</p>"
            + _table(["run", ""], facts)
            + _table(["input", "file", "sha256 (first 16)"], inputs)
            + '<p class="note">Made from allocation.csv, summary.json and manifest.json in '
            f"{escape(str(run.folder))}. This page holds pseudonymous child ids and placement "
            "details: it is personal data. Share it as you would allocation.csv, and do not "
            "publish it.</p>")
