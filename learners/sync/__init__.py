"""The nightly full sync of learners: a whole LMS export applied in set-based statements.

django-import-export reads, compares and writes learners a row at a time, a few thousand a
second; an LMS that exports all its users every night needs minutes, not hours. Here each row
is checked as it streams from the file into a PostgreSQL staging table (COPY), the checks that
need other rows or the database run as a few queries over that table, and learners and their
managers are created and updated by a handful of INSERT … SELECT and UPDATE … FROM statements.
The rules are the import's: bad rows are reported by number and never stop the good ones,
contactability (unsubscribed, suppressed, sunset) is never written, ``last_active_at`` only
moves forward, and a dry run reports everything and saves nothing.
"""
