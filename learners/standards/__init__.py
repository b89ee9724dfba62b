"""Activity in the LMSs' own standards: xAPI statements, Caliper events, Moodle events.

Each standard has a module that turns what the LMS sent into :class:`mapping.Mapped` records;
:func:`mapping.store_and_apply` stores them and records the activity through the same path as
the activity API (``learners.activity`` and ``learners.progress``).
"""
