"""Checking an ``--out`` folder before any work, for ``demo-data`` and ``scenario``.

Found in review: a 300-character ``--out`` failed with "File name too long" (exit 1) only
when the results were written, after the whole simulation. :func:`allocator.write.
_check_target` refuses what ``pdps allocate`` refuses (a name over the file system's limit,
a file in the way, a folder that cannot be written, any other error the operating system
reports) before anything runs.
"""

from __future__ import annotations

from pathlib import Path

from allocator.write import _check_target


def check_out(out: Path) -> None:
    """Refuse an ``--out`` folder that could not be made or written.

    Raises
    ------
    InputError
        One usage issue naming ``--out`` (the CLI exits 2). Whether a folder that already
        holds files may be replaced is each command's own check.
    """
    _check_target(Path(out), True, frozenset())
