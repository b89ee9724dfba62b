"""A learner's (or a manager's) rights over their data: export everything held about them
(GDPR art. 15) and erase it (art. 17). What each table holds and what erasing does to it is
declared once, in :mod:`campaigns.data_rights.policy`."""
