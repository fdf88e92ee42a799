"""``manifest.json``: enough to re-run an allocation and get the same ``allocation.csv``."""

from __future__ import annotations

import platform
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from allocator import __version__
from allocator.solve import SolveSettings
from allocator.validate import Inputs


def _version(package: str) -> str | None:
    try:
        return version(package)
    except PackageNotFoundError:
        return None


def build_manifest(inputs: Inputs, settings: SolveSettings, method: str) -> dict[str, Any]:
    manifest = {
        "tool": "pdps-allocator",
        "version": __version__,
        "solvers": {"ortools": _version("ortools"), "highspy": _version("highspy")},
        "libraries": {name: _version(name) for name in ("numpy", "pandas", "pydantic")},
        "python": platform.python_version(),
        "inputs": {role: {"file": inputs.labels.get(role), "sha256": inputs.hashes.get(role)}
                   for role in ("referrals", "units", "offers", "conflicts", "policy")
                   if role in inputs.labels},
        "policy": inputs.policy.as_applied(),
        "as_of": inputs.as_of.isoformat(),
        "method": method,
        "seed": settings.seed,
        "time_limit_s": settings.time_limit_s,
        # --gap overrides the policy's solver.gap like --seed its seed (found in review: a
        # run with --gap 0.99 recorded only the policy's 0.0).
        "gap": settings.gap,
        "created_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
    }
    if inputs.register_vacancies:  # the files alone would not reproduce the run
        manifest["register_vacancies"] = dict(sorted(inputs.register_vacancies.items()))
    return manifest
