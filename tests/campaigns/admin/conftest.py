"""Alice, a superuser, for the admin tests."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User


@pytest.fixture
def alice(db: None) -> User:
    """A superuser who builds and launches campaigns."""
    return User.objects.create_superuser("alice", "alice@example.com", "pw-for-tests")
