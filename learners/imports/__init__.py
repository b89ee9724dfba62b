"""Learner data in and out as files: one import-export resource per kind of data (``learners``,
``courses``, ``progress``, ``activity``) on a shared base (``base``) and cell widgets
(``widgets``), and the file import the commands and the benchmark run (``files``).

The same resources serve the admin's dry-run preview and ``manage.py import_data``. They are
built for files of a few hundred thousand rows: everything a row needs from the database
(existing instances, email owners, managers, the learners and courses that progress and events
name) is loaded up front in a few chunked queries, rows are written with ``bulk_create`` and
``bulk_update``, and every check that could make a bulk write fail (duplicates inside the file,
an email owned by another learner, an unknown LMS id) is made per row instead, so a bad row is
reported with its number and never takes the good ones down with it.
"""
