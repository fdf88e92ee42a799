"""Progress bars appear for a person at a terminal and nowhere else."""

from __future__ import annotations

import io

import pytest
from click.testing import CliRunner

from allocator.progress import progress, stages, wanted


class Terminal(io.StringIO):
    """A stream that says it is a terminal, as a person's stderr does."""

    def isatty(self) -> bool:
        if self.closed:
            raise ValueError("I/O operation on closed file")  # as a real stream does
        return True


@pytest.fixture(autouse=True)
def no_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PDPS_PROGRESS", raising=False)


def test_a_file_or_pipe_gets_nothing_and_every_item_passes_through() -> None:
    stream = io.StringIO()
    assert list(progress(range(5000), desc="explain", stream=stream)) == list(range(5000))
    assert stream.getvalue() == ""
    with stages(["a", "b"], stream=stream) as bar:
        bar.step()
        bar.step()
    assert stream.getvalue() == ""


def test_a_terminal_gets_a_bar_for_a_long_loop_only() -> None:
    terminal = Terminal()
    assert list(progress(range(500), desc="explain", unit="children",
                         stream=terminal)) == list(range(500))
    drawn = terminal.getvalue()
    assert "explain" in drawn and "/500" in drawn and "children" in drawn
    assert drawn.endswith("\r"), "the bar is cleared when the loop ends"
    short = Terminal()
    assert list(progress(range(10), stream=short)) == list(range(10))
    assert short.getvalue() == "", "a short loop ends before a bar is worth drawing"


def test_a_generator_without_a_length_still_gets_its_bar() -> None:
    terminal = Terminal()
    assert sum(progress((k for k in range(300)), desc="runs", stream=terminal)) == sum(
        range(300))
    assert "runs" in terminal.getvalue()


def test_stages_name_the_step_under_way() -> None:
    terminal = Terminal()
    with stages(["build", "solve", "runner-ups"], desc="allocate", stream=terminal) as bar:
        bar.step()
        assert "solve" in terminal.getvalue()
        bar.step()
        bar.step()
    assert "allocate" in terminal.getvalue() and "runner-ups" in terminal.getvalue()


def test_the_environment_overrides_the_terminal_test(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PDPS_PROGRESS", "0")
    assert not wanted(Terminal())
    monkeypatch.setenv("PDPS_PROGRESS", "1")
    assert wanted(io.StringIO())
    monkeypatch.setenv("PDPS_PROGRESS", "")
    assert wanted(Terminal()) and not wanted(io.StringIO())
    closed = Terminal()
    closed.close()
    assert not wanted(closed)


def test_pdps_allocate_output_is_free_of_bars(demo_run, tmp_path) -> None:
    """CliRunner's streams are not terminals: the command prints only its results."""
    from allocator.cli import main

    data = demo_run.data
    result = CliRunner().invoke(main, [
        "allocate", "--referrals", str(data / "referrals.csv"), "--units",
        str(data / "units.csv"), "--as-of", "2026-11-25", "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "\r" not in result.output and "steps |" not in result.output
    assert result.output.startswith("Placed ")
