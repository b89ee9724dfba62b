"""The campaigns admin, one module per area. Importing a module registers its ModelAdmins.

A thin UI: actions and views check permissions, call :mod:`campaigns.building`'s services,
blueprint or selectors, and report what happened.
"""

from campaigns.admin import (
    awards,
    campaigns,
    data_rights,
    digests,
    feedback,
    incentives,
    outbox,
    results,
    segments,
    steps,
    tokens,
)

__all__ = [
    "awards",
    "campaigns",
    "data_rights",
    "digests",
    "feedback",
    "incentives",
    "outbox",
    "results",
    "segments",
    "steps",
    "tokens",
]
