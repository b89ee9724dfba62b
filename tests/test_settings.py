"""Settings read from the environment fail loudly, naming the variable."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PRINT_SETTINGS = (
    "import reengagement.settings as s; "
    "print(s.DATABASES['default']['ENGINE'], s.CELERY_BROKER_URL)"
)


# Variables the machine running the tests may have set, that would change what is tested.
CONFIGURATION = {
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "DEBUG",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "PUBLIC_BASE_URL",
    "DJANGO_SETTINGS_MODULE",
    # Set by the browser tests in this process; `check --deploy` rightly refuses it.
    "DJANGO_ALLOW_ASYNC_UNSAFE",
}


def clean_environment(tmp_path: Path, **env: str) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if k not in CONFIGURATION and k[:7] != "SECURE_"}
    return {**clean, "VAR_DIR": str(tmp_path), **env}


def load_settings(
    tmp_path: Path, code: str = PRINT_SETTINGS, **env: str
) -> subprocess.CompletedProcess[str]:
    """Import the settings in a fresh process with only ``env`` set (DEBUG on unless given)."""
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=clean_environment(tmp_path, **{"DEBUG": "true", **env}),
        capture_output=True,
        text=True,
        check=False,
    )


def test_it_runs_embedded_with_debug_on_and_nothing_else(tmp_path):
    result = load_settings(tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[0] == "django.db.backends.sqlite3"
    assert (tmp_path / "broker" / "queue").is_dir()


def test_it_reads_postgres_and_redis_urls(tmp_path):
    result = load_settings(
        tmp_path,
        DATABASE_URL="postgres://u:p@db:5432/app",
        CELERY_BROKER_URL="redis://cache:6379/0",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["django.db.backends.postgresql", "redis://cache:6379/0"]


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DEBUG": "maybe"}, "DEBUG must be true or false"),
        ({"DEBUG": "false"}, "SECRET_KEY is required"),
        ({"EMAIL_PORT": "twenty-five"}, "EMAIL_PORT must be a whole number"),
        ({"DATABASE_URL": "nosuchdb://x"}, "DATABASE_URL"),
        ({"ANYMAIL": "[1, 2]"}, "ANYMAIL must be a JSON object"),
        ({"TIME_ZONE": "Mars/Olympus"}, "TIME_ZONE 'Mars/Olympus' is not an IANA time zone"),
    ],
)
def test_it_refuses_a_bad_value_and_names_it(tmp_path, env, message):
    result = load_settings(tmp_path, **env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert message in result.stderr
