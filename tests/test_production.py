"""Production defaults: DEBUG off unless turned on, start-up that refuses development values,
HTTPS settings from the environment, and `check --deploy` clean with the README's settings."""

from __future__ import annotations

import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_settings import ROOT, clean_environment

PRINT = (
    "import reengagement.settings as s; "
    "print(s.DEBUG, s.SECURE_SSL_REDIRECT, s.SECURE_PROXY_SSL_HEADER, s.SECURE_HSTS_SECONDS, "
    "s.SECURE_HSTS_INCLUDE_SUBDOMAINS, s.SECURE_HSTS_PRELOAD, s.SESSION_COOKIE_SECURE, "
    "s.CSRF_COOKIE_SECURE, sep='|')"
)


def readme_production_settings() -> dict[str, str]:
    """The variables of the README's "Production settings" block, with a real random key."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### Production settings", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.DOTALL)
    assert block, "the README's production section has its settings block"
    env = dict(line.split("=", 1) for line in block.group(1).splitlines() if "=" in line)
    assert env["SECRET_KEY"].startswith("<"), "the README shows how to make a key, not a key"
    env["SECRET_KEY"] = secrets.token_urlsafe(50)
    return env


def run(tmp_path: Path, args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=clean_environment(tmp_path, **env),
        capture_output=True,
        text=True,
        check=False,
    )


def settings_with(tmp_path: Path, **changes: str | None) -> subprocess.CompletedProcess[str]:
    env = readme_production_settings()
    for name, value in changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return run(tmp_path, ["-c", PRINT], env)


def test_check_deploy_is_clean_with_the_readme_production_settings(tmp_path: Path) -> None:
    result = run(
        tmp_path,
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        readme_production_settings(),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_check_deploy_sees_hsts_and_the_redirect_turned_off(tmp_path: Path) -> None:
    env = readme_production_settings()
    env.update(SECURE_HSTS_SECONDS="0", SECURE_SSL_REDIRECT="false")
    result = run(tmp_path, ["manage.py", "check", "--deploy"], env)
    assert "security.W004" in result.stderr + result.stdout
    assert "security.W008" in result.stderr + result.stdout


def test_debug_is_off_unless_turned_on(tmp_path: Path) -> None:
    result = settings_with(tmp_path, DEBUG=None)
    assert result.returncode == 0, result.stderr
    debug, redirect, header, *_rest = result.stdout.strip().split("|")
    assert (debug, redirect, header) == ("False", "True", "('HTTP_X_FORWARDED_PROTO', 'https')")


def test_with_nothing_set_start_up_refuses_and_names_every_variable(tmp_path: Path) -> None:
    result = run(tmp_path, ["-c", PRINT], {})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    for name in ("SECRET_KEY is required", "PUBLIC_BASE_URL must be an https://", "ALLOWED_HOSTS"):
        assert name in result.stderr


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"SECRET_KEY": None}, "SECRET_KEY is required when DEBUG is off"),
        (
            {"SECRET_KEY": "dev-only-insecure-key-do-not-use-in-production"},
            "SECRET_KEY is the development key from the source code",
        ),
        (
            {"SECRET_KEY_FALLBACKS": "dev-only-insecure-key-do-not-use-in-production"},
            "SECRET_KEY_FALLBACKS holds the development key",
        ),
        (
            {"PUBLIC_BASE_URL": "http://campaigns.example.com"},
            "PUBLIC_BASE_URL must be an https:// URL when DEBUG is off",
        ),
        ({"PUBLIC_BASE_URL": "https://localhost:8000"}, "PUBLIC_BASE_URL points at this machine"),
        ({"PUBLIC_BASE_URL": "https://127.0.0.1"}, "PUBLIC_BASE_URL points at this machine"),
        ({"PUBLIC_BASE_URL": "https://[::1]:8443"}, "PUBLIC_BASE_URL points at this machine"),
        ({"ALLOWED_HOSTS": None}, "ALLOWED_HOSTS must name this site's host names"),
        (
            {"ALLOWED_HOSTS": "localhost,127.0.0.1,[::1],testserver"},
            "ALLOWED_HOSTS must name this site's host names",
        ),
    ],
)
def test_with_debug_off_start_up_refuses_a_development_value(
    tmp_path: Path, changes: dict[str, str | None], message: str
) -> None:
    result = settings_with(tmp_path, **changes)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert message in result.stderr


def test_https_settings_come_from_the_environment(tmp_path: Path) -> None:
    result = settings_with(
        tmp_path,
        SECURE_SSL_REDIRECT="false",
        SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto",
        SECURE_HSTS_SECONDS="600",
        SECURE_HSTS_INCLUDE_SUBDOMAINS="false",
        SECURE_HSTS_PRELOAD="false",
        SESSION_COOKIE_SECURE="true",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().split("|") == [
        "False",
        "False",
        "('HTTP_X_FORWARDED_PROTO', 'https')",
        "600",
        "False",
        "False",
        "True",
        "True",
    ]
    no_proxy = settings_with(tmp_path, SECURE_PROXY_SSL_HEADER="")
    assert no_proxy.stdout.split("|")[2] == "None"


def test_make_and_the_procfile_turn_debug_on_for_the_local_demo(tmp_path: Path) -> None:
    result = subprocess.run(
        ["make", "-s", "--eval", "print-debug: ; @echo DEBUG=$$DEBUG", "print-debug"],
        cwd=ROOT,
        env=clean_environment(tmp_path),
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == "DEBUG=true"
    for line in (ROOT / "Procfile").read_text().splitlines():
        name, command = line.split(":", 1)
        # Each process runs under a shell, so this sets DEBUG unless the caller already did.
        assert command.strip().startswith("DEBUG=${DEBUG:-true} "), name
