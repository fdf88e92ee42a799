"""PDPS placement allocator: read, validate, find eligible placements, optimise, explain, write.

The public API is imported lazily so that ``import allocator`` (and so ``pdps --help``) does
not pay for pandas and OR-Tools until they are needed.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "load_inputs": "allocator.validate",
    "Inputs": "allocator.validate",
    "InputError": "allocator.issues",
    "Issue": "allocator.issues",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'allocator' has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(module), name)


__all__ = ["InputError", "Inputs", "Issue", "__version__", "load_inputs"]
