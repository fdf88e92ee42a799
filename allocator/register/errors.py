"""The register's refusal, kept apart from the database code so the CLI can import it cheaply.

``pdps --help`` lists the register's commands, which imports their module; importing
SQLAlchemy there would cost a third of a second on every ``pdps`` call.
"""

from __future__ import annotations

from allocator.issues import InputError, Issue


class RegisterError(InputError):
    """A request the register refuses: unknown id, missing role, wrong state. Exit 2."""

    def __init__(self, message: str, where: str = "register"):
        super().__init__([Issue(where, None, None, message, "register")])

    def __str__(self) -> str:
        return self.report()
