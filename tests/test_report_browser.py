"""The HTML report in a real browser: it renders, it is not blank, it shows the numbers.

Headless Chromium (Debian's package) opens ``report.html`` from disk with the network
unreachable, takes a screenshot and dumps the page as the browser built it. A page that
needed a script, a font or an image from elsewhere, or that failed to parse, would show
here.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from external import chromium
from PIL import Image

from allocator.reports import write_allocation_report
from allocator.reports.page import money


@pytest.fixture(scope="module")
def report(demo_run, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = Path(shutil.copytree(demo_run.out, tmp_path_factory.mktemp("browser") / "run"))
    return write_allocation_report(folder)


def test_screenshot_shows_a_drawn_page(report: Path, tmp_path: Path) -> None:
    shot = tmp_path / "report.png"
    done = chromium(["--window-size=1280,2400", f"--screenshot={shot}", report.as_uri()],
                    tmp_path / "profile")
    assert shot.is_file(), done.stderr[-2000:]
    pixels = np.asarray(Image.open(shot).convert("RGB"), dtype=np.int16)
    assert pixels.shape[:2] == (2400, 1280)
    ink = (pixels < 200).any(axis=2)           # anything clearly not white
    assert 0.01 < ink.mean() < 0.6, f"{ink.mean():.3f} of the page is ink"
    assert ink[:200].mean() > 0.005, "the title and headline are at the top"
    # The charts' teal bars and the cards' borders: colour, not only black text.
    teal = ((abs(pixels[..., 0] - 0x1F) < 30) & (abs(pixels[..., 1] - 0x6F) < 30)
            & (abs(pixels[..., 2] - 0x8B) < 30))
    assert teal.sum() > 2000
    colours = len(np.unique(pixels.reshape(-1, 3)[::7], axis=0))
    assert colours > 50, "a blank or text-only page has few colours"


def test_browser_shows_the_key_numbers(report: Path, demo_run, tmp_path: Path) -> None:
    done = chromium(["--dump-dom", report.as_uri()], tmp_path / "profile")
    dom = done.stdout
    assert "</html>" in dom, done.stderr[-2000:]
    summary = json.loads((report.parent / "summary.json").read_text())
    versus = summary["against_greedy"]
    for number in (f"{summary['placed']} of {summary['children']}",
                   money(summary["total_weekly_cost"]),
                   money(abs(versus["saving_weekly_cost"])),
                   f"{summary['percent_in_borough']:.1f}%",
                   f"{summary['percent_over_20_miles']:.1f}%"):
        assert number in dom, number
    for child in summary["unplaced_children"]:
        assert child["child_id"] in dom
    assert dom.count("<svg") == 3, "three charts drawn inline"
