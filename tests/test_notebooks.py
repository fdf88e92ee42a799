"""Every notebook in notebooks/ runs top to bottom in a fresh kernel.

Notebooks are documentation that executes; one that no longer runs is a broken promise to
the researcher who opens it. They are stored with outputs cleared (so a diff shows code, not
pictures) and run here from their own folder, as a reader would. A notebook whose metadata
carries ``pdps.skip`` is skipped with that reason.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
PATHS = sorted(NOTEBOOKS.glob("*.ipynb"))


def test_the_three_notebooks_are_there() -> None:
    assert [p.name for p in PATHS] == ["01-quickstart.ipynb", "02-scenario-planning.ipynb",
                                       "03-research.ipynb"]


@pytest.mark.parametrize("path", PATHS, ids=[p.stem for p in PATHS])
def test_notebook_is_stored_without_outputs(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, path.name


@pytest.mark.parametrize("path", PATHS, ids=[p.stem for p in PATHS])
def test_notebook_executes(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    skip = notebook.metadata.get("pdps", {}).get("skip")
    if skip:
        pytest.skip(skip)
    client = NotebookClient(notebook, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOKS)}})
    client.execute()  # raises CellExecutionError, with the cell and traceback, on failure
    # The kernel's inline backend turns each figure into a PNG output: no window, no display.
    errors = [out for cell in notebook.cells if cell.cell_type == "code"
              for out in cell.outputs if out.output_type == "error"]
    assert errors == []
    assert any(out.get("data", {}).get("image/png") for cell in notebook.cells
               if cell.cell_type == "code" for out in cell.outputs), "plots are drawn"
