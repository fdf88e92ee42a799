"""YAML for the council's own files (policy, scenarios, delegation schemes): safe, and a key
written twice is an error.

PyYAML's ``safe_load`` keeps the last of two equal keys without a word, so a policy with
``horizon_weeks: 10`` and, lower down, ``horizon_weeks: 20`` ran on 20 while its author read
10. Every file a person writes by hand is read through :func:`load_yaml`.
"""

from __future__ import annotations

from typing import Any

import yaml


class DuplicateKeyError(yaml.constructor.ConstructorError):
    """A mapping names one key twice; ``problem_mark`` is where the second one is."""


class _UniqueKeyLoader(yaml.SafeLoader):
    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # ``<<: *base``: overrides allowed
                continue
            key = self.construct_object(key_node, deep=deep)
            try:
                repeated = key in seen
            except TypeError:  # an unhashable key: construct_mapping reports it
                break
            if repeated:
                raise DuplicateKeyError(None, None, f"key {key!r} is written twice",
                                        key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def load_yaml(text: str) -> Any:
    """``yaml.safe_load``, refusing a mapping that repeats a key."""
    return yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader: no objects built


def yaml_problem(exc: yaml.YAMLError) -> str:
    """``line L, column C: what is wrong`` for a message that names the spot."""
    mark = getattr(exc, "problem_mark", None)
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
    what = exc.problem if isinstance(exc, DuplicateKeyError) else "not valid YAML"
    return f"{where}{what}"
