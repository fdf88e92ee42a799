"""The report's charts, drawn by matplotlib straight to inline SVG text.

No pyplot and no display: each chart is a :class:`matplotlib.figure.Figure` saved to a
string, so nothing depends on a backend, a window or global figure state, and the page needs
no file beside it and no network. Text stays text (``svg.fonttype: none``), so numbers on a
chart can be searched and read by a screen reader; ids are salted per chart so that several
SVGs inline in one page never share a clip-path id; the date is left out so the same run
draws the same bytes.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Mapping
from itertools import pairwise

import numpy as np
from matplotlib import rc_context
from matplotlib.figure import Figure

from allocator.reports.run import Flows

INK, MUTED, ACCENT, WARN, GRID = "#1d2733", "#5b6773", "#1f6f8b", "#c4622d", "#d9dee3"
STYLE = {
    "svg.fonttype": "none", "font.family": "DejaVu Sans", "font.size": 9,
    "axes.edgecolor": GRID, "axes.labelcolor": INK, "xtick.color": MUTED,
    "ytick.color": MUTED, "axes.spines.top": False, "axes.spines.right": False,
}
#: Distance bands, in miles: the DfE reports "over 20 miles" as its threshold.
DISTANCE_BANDS = (0, 5, 10, 20, 30, 50)


def _svg(figure: Figure, salt: str) -> str:
    with rc_context({**STYLE, "svg.hashsalt": salt}):
        buffer = io.StringIO()
        figure.savefig(buffer, format="svg", metadata={"Date": None}, bbox_inches="tight")
    text = buffer.getvalue()
    # Inline in HTML: drop the XML prolog and DOCTYPE (they would name a remote DTD).
    text = re.sub(r"<\?xml[^>]*\?>\s*", "", text)
    text = re.sub(r"<!DOCTYPE[^>]*>\s*", "", text)
    return text.replace("<svg ", f'<svg role="img" aria-label="{salt}" ', 1)


def _figure(width: float, height: float) -> Figure:
    with rc_context(STYLE):
        return Figure(figsize=(width, height), layout="constrained")


def spend_chart(by_route: Mapping[str, float], by_setting: Mapping[str, float]) -> str:
    """Weekly spend by purchasing route and by setting, side by side, £ on each bar."""
    with rc_context(STYLE):
        figure = _figure(8.0, 2.8)
        for axes, (title, values) in zip(figure.subplots(1, 2),
                                         (("By purchasing route", by_route),
                                          ("By setting", by_setting)), strict=True):
            names = list(values)[::-1]
            amounts = [float(values[n]) for n in names]
            axes.barh(names, amounts, color=ACCENT)
            top = max(amounts, default=0.0) or 1.0
            for y, amount in enumerate(amounts):
                axes.text(amount + top * 0.02, y, f"£{amount:,.0f}", va="center", color=INK)
            axes.set_xlim(0, top * 1.35)
            axes.set_title(title, loc="left", color=INK, fontsize=10)
            axes.set_xlabel("£ a week")
            axes.xaxis.set_major_formatter(lambda x, _pos: f"£{x:,.0f}")
            axes.tick_params(axis="x", labelsize=8)
    return _svg(figure, "spend by route and setting")


def distance_bands(miles: np.ndarray) -> tuple[list[str], np.ndarray]:
    """Counts of placed children per distance band; the last band is open-ended.

    Bands include their upper edge (a child exactly 20 miles away is in 10-20), so the
    bands from 20 on count exactly the children "over 20 miles" as the DfE and the summary
    count them.
    """
    labels = [f"{a}-{b}" for a, b in pairwise(DISTANCE_BANDS)]
    labels.append(f"over {DISTANCE_BANDS[-1]}")
    known = miles[np.isfinite(miles)]
    band = np.searchsorted(np.asarray(DISTANCE_BANDS[1:], dtype=float), known, side="left")
    return labels, np.bincount(band, minlength=len(labels))


def distance_chart(miles: np.ndarray) -> str:
    """How far from home placed children would live, with the 20-mile line the DfE uses."""
    labels, counts = distance_bands(miles)
    with rc_context(STYLE):
        figure = _figure(8.0, 2.6)
        axes = figure.subplots()
        colours = [ACCENT if edge < 20 else WARN for edge in DISTANCE_BANDS]
        axes.bar(labels, counts, color=colours)
        for x, count in enumerate(counts):
            axes.text(x, count, f"{count}", ha="center", va="bottom", color=INK)
        axes.set_ylim(0, max(int(counts.max(initial=0)), 1) * 1.2)
        axes.set_xlabel("miles from home (children placed in listed units)")
        axes.set_ylabel("children")
        axes.yaxis.get_major_locator().set_params(integer=True)
    return _svg(figure, "distance from home")


def flow_map(flows: Flows, home_authority: str) -> str:
    """Lines from home cells to placement authorities, width by number of children.

    Home cells are unlabelled grey dots; authorities are labelled with their name and the
    number of children placed there. Longitude is scaled by cos(latitude) so distances look
    right without a map projection library or tiles from the network.
    """
    lines, areas = flows.lines, flows.areas
    with rc_context(STYLE):
        figure = _figure(8.0, 5.5)
        axes = figure.subplots()
        # Other authorities with listed units, faintly, so a reader can find their way.
        lat = np.r_[lines["home_lat"], areas["lat"]]
        lon = np.r_[lines["home_lon"], areas["lon"]]
        pad_lat, pad_lon = max(np.ptp(lat) * 0.15, 0.05), max(np.ptp(lon) * 0.15, 0.08)
        near = flows.centres[flows.centres["lat"].between(lat.min() - pad_lat,
                                                          lat.max() + pad_lat)
                             & flows.centres["lon"].between(lon.min() - pad_lon,
                                                            lon.max() + pad_lon)
                             & ~flows.centres["local_authority"].isin(areas["local_authority"])]
        axes.scatter(near["lon"], near["lat"], s=10, color=GRID, zorder=1)
        for row in near.itertuples():
            axes.annotate(row.local_authority, (row.lon, row.lat), xytext=(4, -9),
                          textcoords="offset points", color="#8a949e", fontsize=7)
        widest = max(int(lines["children"].max()), 1)
        for row in lines.itertuples():
            axes.plot([row.home_lon, row.lon], [row.home_lat, row.lat], color=ACCENT,
                      alpha=0.45, linewidth=0.8 + 3.2 * row.children / widest,
                      solid_capstyle="round")
        homes = lines.groupby(["home_lat", "home_lon"])["children"].sum().reset_index()
        axes.scatter(homes["home_lon"], homes["home_lat"], s=12 + 10 * homes["children"],
                     color=MUTED, alpha=0.6, linewidths=0, label="home areas (about 3.5 miles)")
        home = areas["local_authority"] == home_authority
        axes.scatter(areas["lon"], areas["lat"], s=30 + 25 * areas["children"],
                     color=np.where(home, ACCENT, WARN), edgecolors="white", linewidths=1,
                     zorder=3, label="placement authority")
        for row in areas.itertuples():
            axes.annotate(f"{row.local_authority} ({row.children})", (row.lon, row.lat),
                          xytext=(6, 4), textcoords="offset points", color=INK, zorder=4)
        mid = float(np.nanmean(lat))
        axes.set_aspect(1 / math.cos(math.radians(mid)), adjustable="datalim")
        axes.set_xticks([])
        axes.set_yticks([])
        for side in ("left", "bottom"):
            axes.spines[side].set_visible(False)
        axes.legend(loc="lower left", frameon=False, fontsize=8)
    return _svg(figure, "home to placement by area")
