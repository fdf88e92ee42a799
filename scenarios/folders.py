"""Checking an ``--out`` folder before any work, for ``demo-data`` and ``scenario``.

Found in review: a 300-character ``--out`` failed with "File name too long" (exit 1) only
when the results were written, after the whole simulation. :func:`allocator.write.
_check_target` refuses what ``pdps allocate`` refuses (a name over the file system's limit,
a file in the way, a folder that cannot be written, any other error the operating system
reports) before anything runs.
"""

from __future__ import annotations

from pathlib import Path

from allocator.issues import InputError, Issue
from allocator.write import _check_target


def check_out(out: Path, force: bool, replaced: str = "it") -> None:
    """Refuse an ``--out`` folder that could not be made or written, or that holds files
    and ``force`` is not given (``replaced`` says what ``--force`` would replace).

    Raises
    ------
    InputError
        One usage issue naming ``--out`` (the CLI exits 2).
    """
    out = Path(out)
    _check_target(out, True, frozenset())
    if not force and out.is_dir() and any(out.iterdir()):
        raise InputError([Issue("--out", None, None, f"{out} is not empty: choose a new --out "
                                f"folder, or pass --force to replace {replaced}", "usage")])
