"""Reports for people, made from a run's output folder alone.

A report reads only what ``pdps allocate`` wrote (``allocation.csv``, ``summary.json``,
``manifest.json``), so it works on any run's output, today's or last month's, and cannot
disagree with the files a checker or an auditor reads. The input files named in the manifest
are read too, when they are still there and unchanged, for one thing only: where children's
homes and their placements are, aggregated to areas for the map.

- :mod:`allocator.reports.run`: read and type the output folder; the home-to-placement flows.
- :mod:`allocator.reports.charts`: matplotlib figures as inline SVG (no files, no network).
- :mod:`allocator.reports.page`: the self-contained HTML page, written atomically.
"""

from __future__ import annotations

from allocator.reports.page import render_allocation_report, write_allocation_report

__all__ = ["render_allocation_report", "write_allocation_report"]
