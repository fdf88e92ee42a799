"""``pdps report allocation``: the page's content, its safety, and its failure modes.

The browser test (tests/test_report_browser.py) checks the page renders; these check what
it says, from the numbers in the run's own summary.json, without a browser.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from allocator.cli import main
from allocator.issues import InputError
from allocator.reports import render_allocation_report, write_allocation_report
from allocator.reports.charts import distance_bands
from allocator.reports.page import APPROVAL_WORDS, money
from allocator.reports.run import CELL_LAT, CELL_LON, home_to_placement, load_run


@pytest.fixture
def run_copy(demo_run, tmp_path: Path) -> Path:
    """A private copy of the demo run's output folder, free to change."""
    return Path(shutil.copytree(demo_run.out, tmp_path / "out"))


@pytest.fixture(scope="module")
def page(demo_run) -> str:
    """The demo run's page, rendered once for the tests that only read it."""
    return render_allocation_report(demo_run.out)


def _text(html: str) -> str:
    """The page's visible text, roughly: tags dropped, entities left as written."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_page_states_the_headline_numbers(demo_run, page: str) -> None:
    summary = json.loads((demo_run.out / "summary.json").read_text())
    versus = summary["against_greedy"]
    text = _text(page)
    assert f"{summary['placed']} of {summary['children']}" in text
    assert money(summary["total_weekly_cost"]) in text
    assert money(abs(versus["saving_weekly_cost"])) in text
    assert money(versus["greedy"]["weekly_cost"]) in text
    assert f"{summary['percent_in_borough']:.1f}%" in text
    assert str(sum(summary["approvals_needed"].values())) in text
    for route, amount in summary["spend_by_route"].items():
        assert route in text and money(amount) in text


def test_every_child_appears_with_its_approvals_and_every_unplaced_child_with_its_reason(
        demo_run, page: str) -> None:
    allocation = pd.read_csv(demo_run.out / "allocation.csv", dtype=str, keep_default_na=False)
    html = page
    for row in allocation.itertuples():
        assert f">{row.child_id}<" in html
    unplaced = allocation[allocation["option"] == "unplaced"]
    assert len(unplaced) >= 1, "the demo market should leave a child unplaced to report"
    section = html.split("Children not placed", 1)[1].split("<h2>", 1)[0]
    for row in unplaced.itertuples():
        assert row.child_id in section
        assert row.reason.split(":")[0] in section
        for rule in row.excluded_by.split(";"):
            assert rule.strip() in section
    summary = json.loads((demo_run.out / "summary.json").read_text())
    for code, count in summary["approvals_needed"].items():
        who = APPROVAL_WORDS[code][0].replace("'", "&#x27;")
        assert re.search(rf"{re.escape(who)}</td><td>[^<]*</td><td class=\"n\">{count}<", html)


def test_page_is_self_contained(page: str) -> None:
    html = page
    lowered = html.lower()
    for needle in ("<script", "<link", "<img", "<iframe", "@import"):
        assert needle not in lowered, needle
    assert not re.search(r"url\((?!#)", lowered), "only url(#id) references inside the page"
    assert not re.search(r"(src|href)\s*=\s*[\"']?(https?:|//)", lowered)
    assert "<!doctype svg" not in lowered and "<?xml" not in lowered
    assert lowered.count("<svg") == 3  # spend, distance from home, the map
    assert html.startswith("<!DOCTYPE html>")


def test_charts_and_map_name_no_child(demo_run, page: str) -> None:
    html = page
    drawings = re.findall(r"<svg.*?</svg>", html, flags=re.DOTALL)
    assert len(drawings) == 3
    ids = pd.read_csv(demo_run.out / "allocation.csv", dtype=str)["child_id"]
    for drawing in drawings:
        assert not any(child in drawing for child in ids)
    assert "Sefton (" in drawings[-1], "placement authorities are labelled with counts"


def test_page_lists_where_one_more_place_would_save_most(demo_run, page: str,
                                                          run_copy: Path) -> None:
    values = json.loads((demo_run.out / "summary.json").read_text())["place_values"]
    text = _text(page)
    assert "Where one more place would save most" in text and values["most_valuable"]
    for option in values["most_valuable"]:
        assert option["option"] in text and money(option["value_of_one_more_place"]) in text
    # A run written before place values existed: no section, no error.
    summary = json.loads((run_copy / "summary.json").read_text())
    del summary["place_values"]
    (run_copy / "summary.json").write_text(json.dumps(summary))
    assert "one more place" not in render_allocation_report(run_copy)


def test_text_from_the_files_is_escaped(run_copy: Path) -> None:
    allocation = pd.read_csv(run_copy / "allocation.csv", dtype=str, keep_default_na=False)
    allocation.loc[0, "reason"] = "<script>alert('x')</script> & more"
    allocation.loc[0, "child_id"] = "<b>C1</b>"
    allocation.to_csv(run_copy / "allocation.csv", index=False)
    html = render_allocation_report(run_copy)
    assert "<script>" not in html and "<b>C1</b>" not in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; more" in html
    assert "&lt;b&gt;C1&lt;/b&gt;" in html


def test_report_is_written_beside_the_run_and_replaced_whole(run_copy: Path) -> None:
    target = write_allocation_report(run_copy)
    assert target == run_copy / "report.html"
    first = target.read_text(encoding="utf-8")
    assert first.endswith("</html>\n")
    (run_copy / "summary.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        write_allocation_report(run_copy)
    assert "summary.json" in caught.value.report()
    assert target.read_text(encoding="utf-8") == first, "a failed report keeps the old one"
    assert sorted(p.name for p in run_copy.iterdir() if p.name.startswith(".")) == []


def test_cli_writes_the_report_and_prints_where(run_copy: Path, tmp_path: Path) -> None:
    out = tmp_path / "elsewhere" / "page.html"
    result = CliRunner().invoke(main, ["report", "allocation", str(run_copy), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert str(out) in result.output and out.is_file()
    assert not (run_copy / "report.html").exists()
    listed = CliRunner().invoke(main, ["report", "--help"])
    assert "allocation" in listed.output


def test_cli_exits_2_naming_the_missing_file(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    result = CliRunner().invoke(main, ["report", "allocation", str(tmp_path / "empty")])
    assert result.exit_code == 2
    assert "allocation.csv" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "empty" / "report.html").exists()
    missing = CliRunner().invoke(main, ["report", "allocation", str(tmp_path / "nowhere")])
    assert missing.exit_code == 2 and "no such output folder" in missing.output


# Found in review: a 300-character --out was an internal fault (the staging file's name
# grew past the 255-byte limit), --out "" tried to rename the page over ".", and a long name
# under new folders left the folders behind.
@pytest.mark.parametrize("name", ["x" * 300 + ".html", "", "new/sub/" + "x" * 300 + ".html",
                                  "new/sub/"])
def test_an_unusable_out_is_bad_usage_and_leaves_nothing(run_copy: Path, tmp_path: Path,
                                                         name: str, monkeypatch) -> None:
    folder = tmp_path / "pages"
    folder.mkdir()
    monkeypatch.chdir(folder)  # relative names, "" included, would land here
    result = CliRunner().invoke(main, ["report", "allocation", str(run_copy), "--out", name])
    assert result.exit_code == 2, result.output
    assert "--out" in result.output and "Traceback" not in result.output
    assert list(folder.iterdir()) == []


def test_a_failed_write_leaves_no_folder_it_made(run_copy: Path, tmp_path: Path,
                                                 monkeypatch) -> None:
    import allocator.write

    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(allocator.write.tempfile, "mkstemp", full)
    folder = tmp_path / "pages"
    folder.mkdir()
    out = folder / "new" / "sub" / "page.html"
    result = CliRunner().invoke(main, ["report", "allocation", str(run_copy), "--out", str(out)])
    assert result.exit_code == 2 and "No space left" in result.output, result.output
    assert list(folder.iterdir()) == []


def test_map_needs_the_runs_own_inputs(demo_run, run_copy: Path, tmp_path: Path) -> None:
    assert load_run(run_copy).flows is not None
    moved = tmp_path / "moved"
    shutil.copytree(demo_run.data, moved)
    manifest = json.loads((run_copy / "manifest.json").read_text())
    manifest["inputs"]["referrals"]["file"] = str(tmp_path / "gone" / "referrals.csv")
    (run_copy / "manifest.json").write_text(json.dumps(manifest))
    lost = load_run(run_copy)
    assert lost.flows is None and "no longer there" in lost.flows_note
    assert "No map: the referrals file" in render_allocation_report(run_copy)
    found = load_run(run_copy, referrals=moved / "referrals.csv")
    assert found.flows is not None
    changed = moved / "referrals.csv"
    changed.write_text(changed.read_text() + "\n", encoding="utf-8")
    stale = load_run(run_copy, referrals=changed)
    assert stale.flows is None and "has changed since the run" in stale.flows_note


def test_flows_pool_homes_into_cells_and_count_children_per_authority() -> None:
    allocation = pd.DataFrame({
        "child_id": ["A", "B", "C", "D"],
        "option": ["U1", "U2", "fallback:lcr:residential", "unplaced"]})
    referrals = pd.DataFrame({"child_id": ["A", "B", "C", "D"],
                              "home_lat": ["53.401", "53.449", "53.5", "53.5"],
                              "home_lon": ["-2.99", "-2.97", "-3.0", "-3.0"]})
    units = pd.DataFrame({"unit_id": ["U1", "U2", "U3"],
                          "local_authority": ["Sefton", "Sefton", "Wigan"],
                          "lat": ["53.5", "53.6", "53.54"], "lon": ["-3.0", "-3.0", "-2.6"]})
    flows = home_to_placement(allocation, referrals, units)
    # A and B live 3.3 miles apart but in one 0.05 x 0.08 degree cell: one line of two.
    assert len(flows.lines) == 1
    line = flows.lines.iloc[0]
    assert line["children"] == 2 and line["local_authority"] == "Sefton"
    assert line["home_lat"] == pytest.approx((np.floor(53.401 / CELL_LAT) + 0.5) * CELL_LAT)
    assert line["home_lon"] == pytest.approx((np.floor(-2.99 / CELL_LON) + 0.5) * CELL_LON)
    assert (line["lat"], line["lon"]) == pytest.approx((53.55, -3.0))  # both Sefton units
    assert flows.via_fallback == 1
    assert flows.areas.to_dict("records")[0]["children"] == 2
    assert set(flows.centres["local_authority"]) == {"Sefton", "Wigan"}


def test_distance_bands_count_each_child_once_with_20_miles_in_the_lower_band() -> None:
    labels, counts = distance_bands(np.array([0.0, 4.99, 5.0, 19.9, 20.0, 20.01, 75.0,
                                              np.nan]))
    assert counts.sum() == 7
    assert labels == ["0-5", "5-10", "10-20", "20-30", "30-50", "over 50"]
    assert counts.tolist() == [3, 0, 2, 1, 0, 1]
    assert counts[3:].sum() == 2  # exactly the two children over 20 miles
