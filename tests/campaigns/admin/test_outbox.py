"""The read-only lists of what the system writes: the last pass's timing."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from campaigns.engine.run import run_pass
from campaigns.models import Campaign
from tests.campaigns.admin.helpers import client_for, text
from tests.campaigns.conftest import day

pytestmark = pytest.mark.django_db


def test_the_admin_shows_when_the_last_pass_really_ran_and_how_long_it_took(
    alice: User, drip: Campaign
) -> None:
    run_pass(now=day(3))
    page = text(client_for(alice).get(reverse("admin:campaigns_passlock_changelist")))
    assert "evaluation-pass" in page
    assert "Dec. 4, 2026, 9 a.m." in page  # the moment the pass ran for
    assert re.search(r"\b\d+\.\d\d s\b", page)  # its wall-clock duration, e.g. "0.03 s"
