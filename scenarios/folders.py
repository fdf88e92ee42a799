"""Checking an ``--out`` folder before any work, for ``demo-data`` and ``scenario``.

Found in review: a 300-character ``--out`` failed with "File name too long" (exit 1) only
when the results were written, after the whole simulation, and ``sub/<long name>/x`` left
``sub`` behind. Each name in the path is measured against the file system's limit first;
then :func:`allocator.write._check_target` refuses what ``pdps allocate`` refuses (a file in
the way, a folder that cannot be written, any other error the operating system reports).
"""

from __future__ import annotations

import os
from pathlib import Path

from allocator.issues import InputError, Issue
from allocator.write import _check_target

#: Bytes in one file or folder name on Linux, macOS and Windows file systems.
NAME_MAX = 255


def check_out(out: Path, option: str = "--out") -> None:
    """Refuse an ``out`` folder that could not be made or written, naming ``option``.

    Raises
    ------
    InputError
        One usage issue naming ``option`` (the CLI exits 2). Whether a folder that already
        holds files may be replaced is each command's own check.
    """
    limit = _name_max(out)
    for part in Path(out).parts:
        size = len(os.fsencode(part))
        if size > limit:
            raise InputError([Issue(option, None, None,
                                    f"a name in the folder path is {size} bytes long "
                                    f"({_shown(part)}); the file system allows at most "
                                    f"{limit}", "usage")])
    _check_target(Path(out), True, frozenset())


def _name_max(out: Path) -> int:
    """The longest name the nearest existing folder above ``out`` allows."""
    folder = Path(out).absolute().parent
    try:
        while not folder.is_dir() and folder != folder.parent:
            folder = folder.parent
        return int(os.pathconf(folder, "PC_NAME_MAX"))
    except (OSError, ValueError):
        return NAME_MAX


def _shown(name: str) -> str:
    return name if len(name) <= 40 else f"{name[:20]}...{name[-10:]}"
