"""Scenario files: strict validation, and errors the CLI reports with exit status 2."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from scenario_support import EXAMPLES

from allocator.cli import main
from allocator.issues import InputError
from scenarios.config import load_scenario

BASE = """\
name: t
market:
  demo: {units: 300, seed: 7}
horizon_weeks: 4
warmup_weeks: 1
replications: 2
"""


def _write(tmp_path: Path, text: str, name: str = "s.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("name", ["sefton-baseline.yaml", "sefton-local-growth.yaml",
                                  "lcr-price-shock.yaml"])
def test_examples_validate(name: str) -> None:
    scenario = load_scenario(EXAMPLES / name)
    assert scenario.replications >= 100 and scenario.horizon_weeks == 52


def test_unknown_key_names_file_and_key(tmp_path: Path) -> None:
    path = _write(tmp_path, BASE + "interventions:\n  - {type: add_units, count: 1, "
                  "setting: foster, place: Bootle, price: 500, colour: red}\n")
    with pytest.raises(InputError) as caught:
        load_scenario(path)
    text = caught.value.report()
    assert str(path) in text and "interventions.0.add_units.colour" in text
    assert "unknown key" in text


def test_cli_exits_2_naming_file_and_key_without_traceback(tmp_path: Path) -> None:
    path = _write(tmp_path, BASE + "horizon_wekes: 10\n")
    result = CliRunner().invoke(main, ["scenario", "run", str(path), "--out",
                                       str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    assert str(path) in result.output and "horizon_wekes" in result.output
    assert "unknown key" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "out").exists()


def test_bad_values_and_unknown_towns_are_reported(tmp_path: Path) -> None:
    path = _write(tmp_path, BASE + "demand: {emergency_share: 1.5}\ninterventions:\n"
                  "  - {type: add_units, count: 1, setting: foster, place: Atlantis, "
                  "price: 500}\n  - {type: change_demand, factor: 9}\n")
    with pytest.raises(InputError) as caught:
        load_scenario(path)
    text = caught.value.report()
    assert "demand.emergency_share" in text and "Atlantis" in text
    assert "interventions.1.change_demand.factor" in text


def test_inline_policy_unknown_key_is_an_input_error(tmp_path: Path) -> None:
    path = _write(tmp_path, BASE + "policy: {weights: {distanse_per_mile: 5}}\n")
    result = CliRunner().invoke(main, ["scenario", "run", str(path), "--out",
                                       str(tmp_path / "out")])
    assert result.exit_code == 2 and "distanse_per_mile" in result.output


def test_policy_file_is_read_relative_to_the_scenario(tmp_path: Path) -> None:
    _write(tmp_path, "weights: {distance_per_mile: 5}\n", "policy.yaml")
    scenario = load_scenario(_write(tmp_path, BASE + "policy: policy.yaml\n"))
    assert scenario.policy_object().weights.distance_per_mile == 5


def test_missing_file_and_bad_yaml(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="1 error"):
        load_scenario(tmp_path / "nope.yaml")
    with pytest.raises(InputError) as caught:
        load_scenario(_write(tmp_path, "name: [unclosed\n"))
    assert "not valid YAML" in caught.value.report()
    with pytest.raises(InputError) as caught:
        load_scenario(_write(tmp_path, BASE + "replications: 3\n"))
    assert "key 'replications' is written twice" in caught.value.report()


def test_dask_without_scheduler_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["scenario", "run", str(EXAMPLES / "lcr-price-shock.yaml"),
                                       "--out", str(tmp_path / "o"), "--executor", "dask"])
    assert result.exit_code == 2 and "--scheduler" in result.output


def test_an_unreachable_dask_scheduler_is_a_usage_error(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Exit 2 naming the address, no traceback, nothing written (it was exit 1, 'internal')."""
    import socket

    import scenarios.executors as executors

    monkeypatch.setattr(executors, "DASK_CONNECT_TIMEOUT_S", 1)
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    out = tmp_path / "o"
    result = CliRunner().invoke(main, ["scenario", "run", str(EXAMPLES / "lcr-price-shock.yaml"),
                                       "--out", str(out), "--replications", "1",
                                       "--executor", "dask",
                                       "--scheduler", f"tcp://127.0.0.1:{port}"])
    assert result.exit_code == 2, result.output
    assert f"could not reach the Dask scheduler at tcp://127.0.0.1:{port}" in result.output
    assert "Traceback" not in result.output
    assert not out.exists()


def test_units_file_errors_name_the_file_row_and_column(tmp_path: Path) -> None:
    from datetime import date

    from scenarios.demo_data import generate, write

    write(generate(children=5, units=60, seed=3, as_of=date(2026, 11, 25)), tmp_path / "m")
    units = tmp_path / "m" / "units.csv"
    lines = units.read_text().splitlines()
    header = lines[0].split(",")
    cells = lines[3].split(",")
    cells[header.index("vacancies")] = "lots"
    lines[3] = ",".join(cells)
    units.write_text("\n".join(lines) + "\n")
    path = _write(tmp_path, BASE.replace("  demo: {units: 300, seed: 7}",
                                         "  units: m/units.csv"))
    result = CliRunner().invoke(main, ["scenario", "run", str(path), "--out",
                                       str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    assert f"{units}, row 4, column vacancies" in result.output
