"""End to end, on SQLite and PostgreSQL: referrals -> allocate -> approvals (one refused, one
rejected) -> active placements -> end of a placement -> spend report, with every number
worked by hand from the small market in ``register_support``."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from register_support import (
    AS_OF,
    ASC,
    CSC,
    NOMINATED,
    PLACEMENTS,
    SCHEME,
    referrals_frame,
    register_url_fixture,  # noqa: F401  (the register_url fixture)
    units_frame,
)
from sqlalchemy import select

from allocator.cli import main
from allocator.register.cli import spend_command, sufficiency_command
from allocator.register.db import open_engine, reading
from allocator.register.schema import audit_log, placements, units
from allocator.register.state import check_invariants, proposal_table, waiting_children


def pdps(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, [str(a) for a in args])
    return result.exit_code, result.output


def test_referral_to_spend_report(register_url: str, tmp_path: Path) -> None:
    reg = register_url
    referrals_frame().to_csv(tmp_path / "referrals.csv", index=False)
    units_frame().to_csv(tmp_path / "units.csv", index=False)

    code, out = pdps("register", "init", "--register", reg, "--delegation", SCHEME)
    assert code == 0, out
    code, out = pdps("allocate", "-r", tmp_path / "referrals.csv", "-u", tmp_path / "units.csv",
                     "--as-of", AS_OF, "--out", tmp_path / "run", "--register", reg)
    assert code == 0, out
    assert "Recorded as run 1" in out and "4 proposal(s) waiting" in out

    ids = dict(zip(*[proposal_table(reg)[c] for c in ("child_id", "proposal")], strict=True))
    assert sorted(ids) == ["C1", "C2", "C3", "C4"]

    # C1: in-house, needs no contract approval, but a placement officer must accept it.
    code, out = pdps("approve", ids["C1"], "--officer", PLACEMENTS, "--role",
                     "placement_officer", "--on", "2026-11-26", "--register", reg)
    assert code == 0 and "placement 1 started on 2026-11-26" in out, out

    # C2: an officer without the delegated call-off authority is refused, and it is logged.
    code, out = pdps("approve", ids["C2"], "--officer", NOMINATED, "--role",
                     "executive_director_csc", "--note", "private reasons about C2",
                     "--on", "2026-11-26", "--register", reg)
    assert code == 2 and "refused" in out and "Alex Morgan" in out, out
    # Found in review: it said "the refusal is logged" and then "nothing was written".
    assert "audit log" in out and "nothing was written" not in out, out
    assert "private reasons" not in out and "Traceback" not in out
    code, out = pdps("approve", ids["C2"], "--officer", CSC, "--role", "executive_director_csc",
                     "--note", "private reasons about C2", "--on", "2026-11-26",
                     "--register", reg)
    assert code == 0 and "started" in out and "private reasons" not in out, out

    # C3: granted by the Executive Director, rejected by the nominated officer: waits again.
    assert pdps("approve", ids["C3"], "--officer", CSC, "--role", "executive_director_csc",
                "--on", "2026-11-26", "--register", reg)[0] == 0
    code, out = pdps("approve", ids["C3"], "--officer", CSC, "--role", "dcs",
                     "--register", reg)
    assert code == 2 and "does not need dcs" in out, out
    code, out = pdps("reject", ids["C3"], "--officer", NOMINATED, "--role",
                     "nominated_officer", "--note", "too far from school", "--register", reg)
    assert code == 0 and "back on the waiting list" in out, out

    # C4: a fallback needs four approvals; it starts only with the last one.
    for officer, role in [(CSC, "executive_director_csc"), (NOMINATED, "nominated_officer"),
                          (CSC, "dcs")]:
        code, out = pdps("approve", ids["C4"], "--officer", officer, "--role", role,
                         "--on", "2026-11-27", "--register", reg)
        assert code == 0 and "still needs" in out, out
    code, out = pdps("approve", ids["C4"], "--officer", ASC, "--role",
                     "executive_director_asc", "--on", "2026-11-27", "--register", reg)
    assert code == 0 and "placement 3 started on 2026-11-27" in out, out

    engine = open_engine(reg)
    with reading(engine) as conn:
        free = dict(conn.execute(select(units.c.unit_id, units.c.vacancies)).all())
        active = conn.execute(select(placements.c.child_id).where(
            placements.c.status == "active").order_by(placements.c.child_id)).scalars().all()
        assert waiting_children(conn) == ["C3"]
        assert check_invariants(conn) == []
    assert free == {"U1": 0, "U2": 0, "U3": 1}  # C3's place was never taken; C4 has no unit
    assert active == ["C1", "C2", "C4"]

    code, out = pdps("end-placement", "1", "--officer", PLACEMENTS, "--on", "2026-12-10",
                     "--reason", "E4A", "--register", reg)
    assert code == 0 and "1 place(s) freed in U1" in out, out
    code, out = pdps("end-placement", "1", "--officer", PLACEMENTS, "--register", reg)
    assert code == 2 and "already ended" in out

    runner = CliRunner()
    report = runner.invoke(spend_command, ["--from", "2026-12-01", "--to", "2026-12-31",
                                           "--out", str(tmp_path / "spend"), "--register", reg])
    assert report.exit_code == 0, report.output
    by = pd.read_csv(tmp_path / "spend" / "spend_by.csv", dtype=str).set_index(
        ["dimension", "value"])
    # C1: £450 for 9 days (1-9 Dec; 10 Dec is the day the child left) = £578.57;
    # C2: £4000 for 31 days = £17,714.29; C4: £5200 for 31 days = £23,028.57.
    assert by.loc[("route", "in_house"), "spend_in_period_gbp"] == "578.57"
    assert by.loc[("route", "pdps"), "spend_in_period_gbp"] == "17714.29"
    assert by.loc[("route", "lcr"), "spend_in_period_gbp"] == "23028.57"
    assert by.loc[("total", "all placements"), "spend_in_period_gbp"] == "41321.43"
    assert by.loc[("total", "all placements"), "committed_weekly_gbp"] == "9200.00"
    assert by.loc[("route", "in_house"), "committed_weekly_gbp"] == "0.00"
    assert by.loc[("lot", "L1-residential"), "spend_in_period_gbp"] == "17714.29"
    assert by.loc[("borough", "out of borough"), "spend_in_period_gbp"] == "23028.57"
    assert by.loc[("provider", "P2 Coastal Care"), "placements"] == "1"
    asc = pd.read_csv(tmp_path / "spend" / "adult_social_care.csv", dtype=str)
    assert asc["child_id"].tolist() == ["C4"] and asc["asc_approved_by"].tolist() == [ASC]
    page = (tmp_path / "spend" / "spend.html").read_text()
    assert "£41,321.43" in page and "private reasons" not in page
    # The same report again replaces its own folder (found in review: refused since the
    # check learnt allocate's file names), and an OS's .DS_Store is no reason to refuse.
    (tmp_path / "spend" / ".DS_Store").write_bytes(b"\0")
    again = runner.invoke(spend_command, ["--from", "2026-12-01", "--to", "2026-12-31",
                                          "--out", str(tmp_path / "spend"), "--register", reg])
    assert again.exit_code == 0, again.output
    (tmp_path / "spend" / "notes.txt").write_text("mine")
    kept = runner.invoke(spend_command, ["--from", "2026-12-01", "--to", "2026-12-31",
                                         "--out", str(tmp_path / "spend"), "--register", reg])
    assert kept.exit_code == 2 and "notes.txt" in kept.output, kept.output
    assert (tmp_path / "spend" / "spend.xlsx").stat().st_size > 0

    suff = runner.invoke(sufficiency_command, ["--from", AS_OF, "--to", AS_OF, "--out",
                                               str(tmp_path / "suff"), "--register", reg])
    assert suff.exit_code == 0, suff.output
    table = pd.read_csv(tmp_path / "suff" / "sufficiency_by.csv", dtype=str).set_index(
        ["dimension", "value"])
    total = table.loc[("total", "all children")]
    assert (total["children"], total["in_borough"], total["out_of_borough"],
            total["fallback"], total["unplaced"]) == ("4", "2", "1", "1", "0")
    assert total["fallback_weekly_gbp"] == "5200.00"
    assert table.loc[("need", "ASD"), "fallback"] == "1"

    with reading(engine) as conn:
        log = conn.execute(select(audit_log.c.action, audit_log.c.officer, audit_log.c.detail)
                           .order_by(audit_log.c.id)).all()
        assert check_invariants(conn) == []
    actions = [a for a, _, _ in log]
    assert actions.count("placement_started") == 3 and "proposal_rejected" in actions
    assert [o for a, o, _ in log if a == "approve_refused"] == [NOMINATED]
    assert all("private reasons" not in d and "too far" not in d for _, _, d in log)
    assert json.loads(next(d for a, _, d in log if a == "placement_ended"))["rec"] == "E4A"


def test_export_903_episodes(register_url: str, tmp_path: Path) -> None:
    from register_support import new_register, small_result

    from allocator.register.decisions import approve, end_placement
    from allocator.register.ssda903 import episodes

    record = new_register(register_url, small_result())
    day = pd.Timestamp("2026-11-26").date()
    approve(register_url, record.proposals["C1"], PLACEMENTS, "placement_officer", on=day)
    approve(register_url, record.proposals["C2"], CSC, "executive_director_csc", on=day)
    end_placement(register_url, 1, PLACEMENTS, on=pd.Timestamp("2026-12-10").date(),
                  reason_code="E4A")
    frame = episodes(register_url)
    assert frame.to_dict("records") == [
        {"CHILD": "C1", "DECOM": "26/11/2026", "RNE": "S", "LS": "C2", "CIN": "N1",
         "PLACE": "U6", "PLACE_PROVIDER": "PR1", "URN": "SC000001", "DEC": "10/12/2026",
         "REC": "E4A"},
        {"CHILD": "C2", "DECOM": "26/11/2026", "RNE": "S", "LS": "V2", "CIN": "N1",
         "PLACE": "K2", "PLACE_PROVIDER": "PR4", "URN": "SC000002", "DEC": "", "REC": ""}]
    code, out = pdps("export-903", "--out", tmp_path / "episodes.csv", "--register",
                     register_url)
    assert code == 0 and "2 episode(s)" in out
    assert (tmp_path / "episodes.csv").read_text().splitlines()[0] == (
        "CHILD,DECOM,RNE,LS,CIN,PLACE,PLACE_PROVIDER,URN,DEC,REC")


@pytest.mark.parametrize("args, message", [
    (["approve", "999", "--officer", CSC, "--role", "dcs"], "no proposal 999"),
    (["approve", "1", "--officer", "Nobody", "--role", "placement_officer"],
     "not named in the scheme"),
    (["approve", "1", "--officer", CSC, "--role", "executive_director_csc", "--on",
      "2026-13-01"], "is not a date"),
    (["end-placement", "7", "--officer", CSC], "no placement 7"),
    (["end-placement", "7", "--officer", CSC, "--reason", "ZZ"], "unknown SSDA903 REC code"),
    (["export-903", "--out", "x.csv", "--from", "yesterday"], "is not a date"),
])
def test_bad_requests_exit_2_without_traceback(tmp_path: Path, args: list[str],
                                               message: str) -> None:
    from register_support import new_register, small_result

    reg = str(tmp_path / "register.db")
    new_register(reg, small_result())
    code, out = pdps(*args, "--register", reg)
    assert code == 2, out
    assert message in out and "Traceback" not in out


def test_missing_register_and_bad_period(tmp_path: Path) -> None:
    missing = str(tmp_path / "nowhere.db")
    code, out = pdps("approve", "1", "--officer", CSC, "--role", "dcs", "--register", missing)
    assert code == 2 and "no register at" in out and "pdps register init" in out
    assert not Path(missing).exists()
    # A file that is not a database (a CSV given by mistake) was an internal error, exit 1.
    not_a_db = tmp_path / "referrals.csv"
    not_a_db.write_text("child_id,date_of_birth\nC1,2012-05-01\n")
    for command in (("approve", "1", "--officer", CSC, "--role", "dcs"), ("register", "init")):
        code, out = pdps(*command, "--register", str(not_a_db))
        assert code == 2 and "not an SQLite database" in out and "Traceback" not in out, out
        assert "2012-05-01" not in out
    assert not_a_db.read_text().startswith("child_id")
    reg = str(tmp_path / "register.db")
    pdps("register", "init", "--register", reg)
    result = CliRunner().invoke(spend_command, ["--from", "2026-12-31", "--to", "2026-12-01",
                                                "--out", str(tmp_path / "s"), "--register",
                                                reg])
    assert result.exit_code == 2 and "is before --from" in result.output
    code, out = pdps("approve", "1", "--officer", CSC, "--role", "dcs", "--register", reg)
    assert code == 2 and "no proposal 1" in out


def test_register_commands_status_proposals_lots_and_lapse(tmp_path: Path) -> None:
    from register_support import new_register, small_result

    reg = str(tmp_path / "register.db")
    record = new_register(reg, small_result())
    code, out = pdps("register", "proposals", "--register", reg)
    assert code == 0 and "executive_director_csc;nominated_officer;dcs" in out, out
    for lot in ("L1-residential", "L4-SEND"):
        code, out = pdps("register", "suspend", "U2", lot, "--officer", CSC, "--on",
                         "2026-11-26", "--reason", "Ofsted inadequate", "--register", reg)
        assert code == 0 and "suspend" in out, out
    code, out = pdps("approve", record.proposals["C2"], "--officer", CSC, "--role",
                     "executive_director_csc", "--register", reg)
    assert code == 3 and "cannot start" in out and "waiting list" in out, out
    code, out = pdps("register", "vacancies", "U3", "2", "--officer", CSC, "--register", reg)
    assert code == 0
    code, out = pdps("register", "status", "--register", reg)
    assert code == 0 and "consistent: yes" in out and "waiting_list: 1" in out, out
    code, out = pdps("register", "suspend", "U9", "L1", "--officer", CSC, "--register", reg)
    assert code == 2 and "no unit 'U9'" in out


def test_a_run_allocates_against_the_registers_vacancies(tmp_path: Path) -> None:
    """A units file written before a placement started still shows its place as free; a run
    recorded in the register must not propose that place again."""
    reg = f"sqlite:///{tmp_path / 'register.db'}"
    units_frame().to_csv(tmp_path / "units.csv", index=False)
    referrals_frame().iloc[:1].to_csv(tmp_path / "first.csv", index=False)  # C1: foster
    later = referrals_frame().iloc[:1].assign(child_id="C5")  # another foster child
    later.to_csv(tmp_path / "later.csv", index=False)
    assert pdps("register", "init", "--register", reg, "--delegation", SCHEME)[0] == 0

    code, out = pdps("allocate", "-r", tmp_path / "first.csv", "-u", tmp_path / "units.csv",
                     "--as-of", AS_OF, "--out", tmp_path / "run1", "--register", reg)
    assert code == 0 and "taken from the register" not in out, out
    proposal = int(proposal_table(reg)["proposal"].iloc[0])
    code, out = pdps("approve", proposal, "--officer", PLACEMENTS, "--role",
                     "placement_officer", "--on", "2026-11-26", "--register", reg)
    assert code == 0 and "started" in out, out  # C1 fills U1's only place

    code, out = pdps("allocate", "-r", tmp_path / "later.csv", "-u", tmp_path / "units.csv",
                     "--as-of", AS_OF, "--out", tmp_path / "run2", "--register", reg)
    assert code == 0, out
    assert "Vacancies of 1 unit(s) taken from the register" in out
    second = pd.read_csv(tmp_path / "run2" / "allocation.csv", dtype=str)
    assert second.loc[0, "child_id"] == "C5" and second.loc[0, "option"] != "U1"
    manifest = json.loads((tmp_path / "run2" / "manifest.json").read_text())
    assert manifest["register_vacancies"] == {"U1": 0}
    with reading(open_engine(reg)) as conn:
        runs = [json.loads(r.detail) if isinstance(r.detail, str) else r.detail for r in
                conn.execute(select(audit_log.c.detail).where(
                    audit_log.c.action == "run_recorded").order_by(audit_log.c.id))]
    assert [r["vacancies_differ_from_file"] for r in runs] == [0, 1]

    # Without the register, the same files would have put C5 in U1.
    code, out = pdps("allocate", "-r", tmp_path / "later.csv", "-u", tmp_path / "units.csv",
                     "--as-of", AS_OF, "--out", tmp_path / "plain")
    assert code == 0, out
    assert pd.read_csv(tmp_path / "plain" / "allocation.csv", dtype=str).loc[0, "option"] == "U1"


def test_a_register_run_is_checked_with_the_registers_vacancies(tmp_path: Path) -> None:
    """The register has a place the units file does not (the provider reported it): the run
    uses it, and ``pdps check`` re-applies the manifest's counts, so the run checks clean."""
    reg = f"sqlite:///{tmp_path / 'register.db'}"
    units_frame(vacancies=0).to_csv(tmp_path / "units.csv", index=False)
    referrals_frame().iloc[:1].to_csv(tmp_path / "first.csv", index=False)  # C1: foster
    assert pdps("register", "init", "--register", reg, "--delegation", SCHEME)[0] == 0
    files = ["-r", tmp_path / "first.csv", "-u", tmp_path / "units.csv", "--as-of", AS_OF]
    assert pdps("allocate", *files, "--out", tmp_path / "run1", "--register", reg)[0] == 0
    code, out = pdps("register", "vacancies", "U1", "1", "--officer", PLACEMENTS,
                     "--register", reg)
    assert code == 0, out

    code, out = pdps("allocate", *files, "--out", tmp_path / "run2", "--register", reg)
    assert code == 0 and "Vacancies of 1 unit(s) taken from the register" in out, out
    allocation = tmp_path / "run2" / "allocation.csv"
    assert pd.read_csv(allocation, dtype=str).loc[0, "option"] == "U1"

    code, out = pdps("check", "-a", allocation, *files)
    assert code == 0, out
    assert "taken from manifest.json" in out
    (tmp_path / "run2" / "manifest.json").unlink()  # the files alone: U1 has no place
    code, out = pdps("check", "-a", allocation, *files)
    assert code == 3 and "vacancies" in out, out
