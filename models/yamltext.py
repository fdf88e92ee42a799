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
    """Checks every mapping as written, before any is built.

    Checked on the composed document, not while constructing: merging ``<<: *base`` into
    a mapping rewrites the merged node in place (its own keys after the merged ones), so a
    later look at that node sees an override as a repeat (found in review).
    """

    def construct_document(self, node: yaml.Node) -> Any:
        self._refuse_repeated_keys(node, set())
        return super().construct_document(node)

    def _refuse_repeated_keys(self, node: yaml.Node, seen_nodes: set[int]) -> None:
        """Keys compared by the value they load as (``1`` and ``0x1``, ``true`` and ``yes``
        are one key to the mapping built), merge keys left out."""
        if id(node) in seen_nodes:  # an alias: checked where it was anchored
            return
        seen_nodes.add(id(node))
        if isinstance(node, yaml.MappingNode):
            written: set[Any] = set()
            for key_node, value_node in node.value:
                if isinstance(key_node, yaml.ScalarNode) \
                        and key_node.tag != "tag:yaml.org,2002:merge":
                    key = self.construct_object(key_node)
                    try:
                        repeated = key in written
                    except TypeError:  # unhashable: construct_mapping reports it
                        repeated = False
                    else:
                        written.add(key)
                    if repeated:
                        raise DuplicateKeyError(None, None,
                                                f"key {key_node.value!r} is written twice",
                                                key_node.start_mark)
                self._refuse_repeated_keys(key_node, seen_nodes)
                self._refuse_repeated_keys(value_node, seen_nodes)
        elif isinstance(node, yaml.SequenceNode):
            for item in node.value:
                self._refuse_repeated_keys(item, seen_nodes)

    def construct_yaml_timestamp(self, node: yaml.ScalarNode) -> Any:  # type: ignore[override]
        """A date the calendar lacks (``2026-02-30``) is kept as the text written, so that
        validation names its key; PyYAML raised a bare ValueError (found in review: exit 1
        from a scenario's ``as_of`` and a delegation scheme's ``valid_from``)."""
        try:
            return super().construct_yaml_timestamp(node)
        except ValueError:
            return self.construct_scalar(node)


_UniqueKeyLoader.add_constructor("tag:yaml.org,2002:timestamp",
                                 _UniqueKeyLoader.construct_yaml_timestamp)


def load_yaml(text: str) -> Any:
    """``yaml.safe_load``, refusing a mapping that repeats a key."""
    return yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader: no objects built


def yaml_problem(exc: yaml.YAMLError) -> str:
    """``line L, column C: what is wrong`` for a message that names the spot."""
    mark = getattr(exc, "problem_mark", None)
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
    what = exc.problem if isinstance(exc, DuplicateKeyError) else "not valid YAML"
    return f"{where}{what}"
