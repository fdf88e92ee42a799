"""The call-off register: what the allocator recommended becomes a record that lasts.

It sits after ``write`` in the pipeline: it reads an :class:`~allocator.api.AllocationResult`
and nothing in the pipeline imports it. A register (a SQLite file, or PostgreSQL by URL) holds
units and their lot admissions, referrals, offers, runs, proposals, officers' approvals,
placements and an append-only audit log; see docs/register.md for the workflow.

- :mod:`.schema`, :mod:`.migrate`: tables and numbered migrations.
- :mod:`.db`: opening a register, the write lock, the crash hook the tests use.
- :mod:`.store`: recording a run; units, vacancies and lot admissions.
- :mod:`.decisions`: approve, reject, start and end placements.
- :mod:`.delegation`: the scheme of delegation (who holds which role).
- :mod:`.state`: status, waiting list, invariants.
- :mod:`.reports`, :mod:`.ssda903`: spend and sufficiency reports, SSDA903 episodes.
- :mod:`.cli`: the ``pdps`` commands.
"""
