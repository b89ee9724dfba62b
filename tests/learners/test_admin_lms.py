"""The admin of LMS sources and what they sent: credentials shown once, revocable; reasons."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import re

from django.contrib.auth.models import User
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from learners.models import LmsSource
from tests.factories import LearnerFactory
from tests.lms import load, make_source


def admin_client(db) -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser("root", "root@example.com", "pw"))
    return client


def post_statement(key: str, secret: str, statement: object):
    token = base64.b64encode(f"{key}:{secret}".encode()).decode()
    return Client().post(
        "/xapi/statements",
        data=json.dumps(statement),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Basic {token}",
        HTTP_X_EXPERIENCE_API_VERSION="1.0.3",
    )


def test_adding_a_source_shows_its_secret_once_and_keeps_only_a_digest(db):
    client = admin_client(db)

    response = client.post(
        reverse("admin:learners_lmssource_add"), {"name": "Moodle", "caliper_sensor": ""}
    )

    assert response.status_code == 302
    [message] = [str(m) for m in get_messages(response.wsgi_request) if "<code>" in str(m)]
    key, secret = re.findall(r"<code>(.+?)</code>", message)
    source = LmsSource.objects.get()
    assert source.key == key
    assert source.secret_digest == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in json.dumps(list(LmsSource.objects.values()), default=str)
    LearnerFactory.create(external_id="1")
    statement = load("xapi/moodle/user_loggedin.json", timestamp=timezone.now().isoformat())
    assert post_statement(key, secret, statement).status_code == 200


def test_revoking_and_issuing_a_new_secret_from_the_list(db):
    client = admin_client(db)
    lms = make_source()
    changelist = reverse("admin:learners_lmssource_changelist")

    client.post(changelist, {"action": "revoke", "_selected_action": [lms.source.pk]})

    assert post_statement(lms.source.key, lms.secret, []).status_code == 401
    response = client.post(
        changelist, {"action": "issue_new_secret", "_selected_action": [lms.source.pk]}
    )
    [message] = [str(m) for m in get_messages(response.wsgi_request) if "<code>" in str(m)]
    _, new_secret = re.findall(r"<code>(.+?)</code>", message)
    assert post_statement(lms.source.key, lms.secret, []).status_code == 401
    lms.source.refresh_from_db()
    assert lms.source.revoked_at is None
    LearnerFactory.create(external_id="1")
    statement = load("xapi/moodle/user_loggedin.json", timestamp=timezone.now().isoformat())
    assert post_statement(lms.source.key, new_secret, statement).status_code == 200


def test_ignored_statements_show_their_reason(db):
    client = admin_client(db)
    lms = make_source()
    moment = (timezone.now() - dt.timedelta(hours=1)).isoformat()
    post_statement(
        lms.source.key, lms.secret, load("xapi/moodle/user_loggedin.json", timestamp=moment)
    )

    page = client.get(reverse("admin:learners_lmsstatement_changelist") + "?status=ignored")

    assert page.status_code == 200
    assert "No learner matches the actor account 1." in page.content.decode()


def test_a_source_page_says_where_the_lms_sends(db, settings):
    settings.PUBLIC_BASE_URL = "https://campaigns.example.com"
    client = admin_client(db)
    lms = make_source()

    page = client.get(reverse("admin:learners_lmssource_change", args=[lms.source.pk]))

    text = page.content.decode()
    assert "https://campaigns.example.com/xapi/" in text
    assert f"https://campaigns.example.com/lms/caliper/{lms.source.key}" in text
    assert lms.secret not in text
