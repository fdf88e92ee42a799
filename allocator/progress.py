"""Progress bars for long runs, shown only to a person watching a terminal.

A batch job, a CI log, a notebook or a pipe gets nothing: a bar redrawn with carriage
returns is noise in a file, and ``allocation.csv`` must not depend on whether anyone was
watching. So every bar goes to standard error, and only when that stream is a terminal.
``PDPS_PROGRESS=0`` silences bars in a terminal too; ``PDPS_PROGRESS=1`` forces them on (for
a terminal that does not say it is one). Scenario runs reuse :func:`progress` and
:func:`stages`.

Built on ``tqdm``, which already knows how to size a bar to the terminal and to rate-limit
redraws, so thousands of quick iterations do not slow the loop they measure.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import IO, TypeVar

from tqdm import tqdm

T = TypeVar("T")

#: Loops shorter than this finish before a bar is worth drawing.
MIN_ITEMS = 200


def wanted(stream: IO[str] | None = None) -> bool:
    """Whether bars should be drawn on ``stream`` (standard error by default)."""
    setting = os.environ.get("PDPS_PROGRESS", "").strip().lower()
    if setting in ("0", "false", "no", "off"):
        return False
    if setting in ("1", "true", "yes", "on"):
        return True
    stream = sys.stderr if stream is None else stream
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed stream
        return False


def progress(items: Iterable[T], *, total: int | None = None, desc: str = "",
             unit: str = "it", stream: IO[str] | None = None,
             min_items: int = MIN_ITEMS) -> Iterator[T]:
    """Iterate over ``items``, with a bar on a terminal when there are many of them.

    Parameters
    ----------
    items
        What the loop walks over; yielded unchanged and in order.
    total
        The number of items, when ``items`` has no ``len``.
    desc, unit
        The bar's label and the name of one item (``"children"``, ``"runs"``).
    stream
        Where the bar goes; standard error by default.
    min_items
        Below this many items no bar is drawn (a short loop would only flicker).

    The bar is removed when the loop ends, so a terminal keeps only the command's real
    output.
    """
    if total is None:
        try:
            total = len(items)  # type: ignore[arg-type]
        except TypeError:
            total = None
    stream = sys.stderr if stream is None else stream
    show = wanted(stream) and (total is None or total >= min_items)
    if not show:
        yield from items
        return
    yield from tqdm(items, total=total, desc=desc, unit=f" {unit}", file=stream, leave=False,
                    dynamic_ncols=True, mininterval=0.2)


@contextmanager
def stages(names: Sequence[str], *, desc: str = "", stream: IO[str] | None = None
           ) -> Iterator[StageBar]:
    """A bar over the named steps of a pipeline, advanced with ``bar.step(name)``.

    For runs whose steps are few but slow (read, solve, explain a large allocation), where
    an item count would say nothing. Draws nothing unless :func:`wanted`.
    """
    stream = sys.stderr if stream is None else stream
    bar = StageBar(names, desc, stream) if wanted(stream) else StageBar(names, desc, None)
    try:
        yield bar
    finally:
        bar.close()


class StageBar:
    """The handle :func:`stages` yields; a silent one when no terminal is watching."""

    def __init__(self, names: Sequence[str], desc: str, stream: IO[str] | None) -> None:
        self.names = list(names)
        self.done = 0
        self._bar = None if stream is None else tqdm(
            total=len(self.names), desc=desc, file=stream, leave=False, dynamic_ncols=True,
            bar_format="{desc}: {n_fmt}/{total_fmt} steps |{bar}| {postfix}")
        self._show_next()

    def step(self) -> None:
        """Mark the current step done and show the next one's name."""
        self.done += 1
        if self._bar is not None:
            self._bar.update(1)
        self._show_next()

    def _show_next(self) -> None:
        if self._bar is not None and self.done < len(self.names):
            self._bar.set_postfix_str(self.names[self.done], refresh=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
