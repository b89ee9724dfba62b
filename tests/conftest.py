"""Test set-up: which tests need real services, and what to do when they are not there.

Tests marked ``postgres``, ``worker`` or ``browser`` are deselected (with a line in the summary)
when PostgreSQL, Redis or Chromium is missing, so ``make test`` works on a bare machine. CI sets
``REQUIRE_SERVICES=1``: then a missing service is an error, never a silent skip.
"""

from __future__ import annotations

import os
import shutil

import pytest
from django.conf import settings


def _service_missing() -> dict[str, str]:
    postgres = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
    redis = settings.CELERY_BROKER_URL.startswith("redis")
    missing = {}
    if not postgres:
        missing["postgres"] = "PostgreSQL (set DATABASE_URL)"
    if not (postgres and redis):
        missing["worker"] = "PostgreSQL and Redis (set DATABASE_URL and CELERY_BROKER_URL)"
    if not shutil.which("chromium"):
        missing["browser"] = "Chromium (apt-get install chromium)"
    return missing


_deselected: dict[str, int] = {}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    missing = _service_missing()
    keep, drop = [], []
    for item in items:
        needs = [marker for marker in missing if item.get_closest_marker(marker)]
        if needs:
            drop.append(item)
            for marker in needs:
                _deselected[missing[marker]] = _deselected.get(missing[marker], 0) + 1
        else:
            keep.append(item)
    if drop and os.environ.get("REQUIRE_SERVICES") == "1":
        raise pytest.UsageError(
            "REQUIRE_SERVICES=1 but these are missing: " + "; ".join(sorted(_deselected))
        )
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for service, count in sorted(_deselected.items()):
        terminalreporter.write_line(
            f"deselected {count} test(s) that need {service}; .ci/run runs them all"
        )
