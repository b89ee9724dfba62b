"""Fixtures for the learner data tests: a fixed clock, named staff users, an API client."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
import tablib
from django.contrib.auth.models import Permission, User
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

NOW = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def now() -> dt.datetime:
    return NOW


@pytest.fixture
def importer(db) -> User:
    """L&D staff who may import and export learner data (but is not a superuser)."""
    user = User.objects.create_user("ines", "ines@example.com", "pw", is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label="learners",
            codename__in=[
                "add_learner",
                "view_learner",
                "change_learner",
                "add_course",
                "view_course",
                "add_courseprogress",
                "view_courseprogress",
                "add_activityevent",
                "view_activityevent",
            ],
        )
    )
    return user


@pytest.fixture
def lms_user(db) -> User:
    """The account whose token the LMS uses: may record activity, nothing else."""
    user = User.objects.create_user("lms", "lms@example.com", "pw")
    user.user_permissions.add(Permission.objects.get(codename="add_activityevent"))
    return user


@pytest.fixture
def api(lms_user: User) -> APIClient:
    client = APIClient()
    token = Token.objects.create(user=lms_user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def csv_text(*lines: str) -> str:
    return "\n".join(lines) + "\n"


@pytest.fixture
def write_file(tmp_path) -> Callable[..., object]:
    """Write CSV text (or rows as XLSX) to a file and return its path."""

    def write(name: str, content: str | list[list[object]]):
        path = tmp_path / name
        if isinstance(content, str):
            path.write_text(content, encoding="utf-8")
        else:
            dataset = tablib.Dataset(*content[1:], headers=content[0])
            path.write_bytes(dataset.export("xlsx"))
        return path

    return write
