"""The preference centres a learner and a manager reach from every email, and the survey's
list of answers: a GET only shows, a POST (with its CSRF token) changes, a bad link is a clear
4xx page, and each change is on the person's admin timeline."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.test import Client

from campaigns.content import links
from campaigns.delivery.deliver import deliver_queued
from campaigns.engine.run import run_pass
from campaigns.models import Campaign, Send, SurveyReason, SurveyResponse
from learners.models import Learner, Manager, PreferenceChange
from tests.campaigns.conftest import day
from tests.factories import CourseProgressFactory, LearnerFactory, staff_user

pytestmark = pytest.mark.django_db


def path_of(url: str) -> str:
    return url.removeprefix("https://learn.example.com")


def csrf_of(page: bytes) -> str:
    match = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert match, page
    return match.group(1).decode()


@pytest.fixture
def client() -> Client:
    return Client(enforce_csrf_checks=True)


@pytest.fixture
def sent(drip: Campaign) -> Send:
    CourseProgressFactory.create(
        learner=LearnerFactory.create(first_name="Sam", email="sam@example.com")
    )
    run_pass(now=day(0))
    deliver_queued(now=day(0))
    return Send.objects.get()


def signed_link(text: str, *, label: str, salt: str) -> tuple[str, dict[str, int]]:
    """The URL after ``label`` in a text part, and what its token says: a token carries the
    second it was signed, so the test reads it rather than signing its own."""
    match = re.search(re.escape(label) + r" (https://learn\.example\.com/\w+/([^/\s]+)/)", text)
    assert match, text
    return match.group(1), links.read_token(match.group(2), salt=salt)


def test_every_learner_email_links_the_preference_centre_next_to_unsubscribe(sent: Send) -> None:
    (message,) = mail.outbox
    body = str(message.body)
    url, value = signed_link(
        body, label="Pause or get fewer reminders:", salt=links.SALT_PREFERENCES
    )
    assert value == {"l": sent.learner_id}
    _, unsubscribe = signed_link(
        body, label="Unsubscribe from these reminders:", salt=links.SALT_UNSUBSCRIBE
    )
    assert unsubscribe == {"l": sent.learner_id, "s": sent.pk}
    assert re.search(r"Pause or get fewer reminders: \S+\nUnsubscribe from these reminders: ", body)
    html = str(message.alternatives[0][0])  # type: ignore[union-attr]
    assert f'<a href="{url}" style="color:#616e7c;">Pause or get fewer reminders</a>' in html


def test_a_manager_email_links_the_manager_preferences(drip: Campaign) -> None:
    learner = CourseProgressFactory.create().learner
    assert learner.manager is not None
    for n in (0, 3, 7):
        run_pass(now=day(n))
        deliver_queued(now=day(n))
    (nudge,) = [m for m in mail.outbox if m.to == [learner.manager.email]]
    url, value = signed_link(
        str(nudge.body), label="Pause these messages:", salt=links.SALT_MANAGER_PREFERENCES
    )
    assert value == {"m": learner.manager.pk}
    assert f'<a href="{url}"' in nudge.alternatives[0][0]  # type: ignore[attr-defined]


def test_the_preference_centre_get_shows_and_changes_nothing(client: Client, sent: Send) -> None:
    url = path_of(links.preferences_url(learner_id=sent.learner_id))
    for _ in range(2):  # a link scanner, then the learner
        page = client.get(url)
        assert page.status_code == 200
        text = page.content.decode()
        assert "Your reminder preferences" in text and "sam@example.com" in text
        assert "Pause for 2 weeks" in text and "At most 1 email a week" in text
    assert page["Cache-Control"].startswith("max-age=0") or "no-store" in page["Cache-Control"]
    learner = Learner.objects.get(pk=sent.learner_id)
    assert (learner.reminders_paused_until, learner.weekly_cap) == (None, None)
    assert not PreferenceChange.objects.exists()


def test_a_post_pauses_caps_and_turns_email_off(client: Client, sent: Send) -> None:
    url = path_of(links.preferences_url(learner_id=sent.learner_id))
    token = csrf_of(client.get(url).content)
    response = client.post(url, {"csrfmiddlewaretoken": token, "pause": "4", "weekly_cap": "2"})
    assert response.status_code == 200
    text = response.content.decode()
    assert "Saved. No reminders until" in text
    learner = Learner.objects.get(pk=sent.learner_id)
    assert learner.reminders_paused_until is not None and learner.weekly_cap == 2
    changes = set(PreferenceChange.objects.filter(learner=learner).values_list("change", "source"))
    assert changes == {
        ("paused", "preference_centre"),
        ("weekly_cap", "preference_centre"),
        ("channel", "preference_centre"),
    }
    assert learner.channel_preferences.get().enabled is False
    # The page now offers to keep the pause.
    assert "Keep the pause until" in text


def test_a_post_without_its_csrf_token_changes_nothing(client: Client, sent: Send) -> None:
    url = path_of(links.preferences_url(learner_id=sent.learner_id))
    response = client.post(url, {"pause": "2", "channels": ["email"]})
    assert response.status_code == 403
    assert Learner.objects.get(pk=sent.learner_id).reminders_paused_until is None


def test_an_unknown_choice_is_a_400_page_naming_it(client: Client, sent: Send) -> None:
    url = path_of(links.preferences_url(learner_id=sent.learner_id))
    token = csrf_of(client.get(url).content)
    response = client.post(url, {"csrfmiddlewaretoken": token, "pause": "52"})
    assert response.status_code == 400
    assert "Select a valid choice. 52 is not one of the available choices." in (
        response.content.decode()
    )
    assert not PreferenceChange.objects.exists()


def test_forged_and_foreign_tokens_get_the_invalid_link_page(client: Client, sent: Send) -> None:
    good = links.preferences_url(learner_id=sent.learner_id)
    unsubscribe = links.unsubscribe_url(learner_id=sent.learner_id, send_id=None)
    manager = links.manager_preferences_url(manager_id=sent.learner.manager_id or 0)
    for url in (
        good[:-3] + "xx/",
        unsubscribe.replace("/u/", "/p/"),
        manager.replace("/mp/", "/p/"),
        links.preferences_url(learner_id=999_999),
        good.replace("/p/", "/mp/"),
        "https://learn.example.com/p/not-a-token/",
    ):
        response = client.get(path_of(url))
        assert response.status_code == 404, url
        assert b"This link is not valid" in response.content
        # A post without the page's CSRF token stops earlier, at Django's 403 page.
        assert client.post(path_of(url)).status_code in (403, 404)
        with_csrf = Client().post(path_of(url), {"pause": "2"})
        assert with_csrf.status_code == 404 and b"This link is not valid" in with_csrf.content


def test_unsubscribe_from_all_posts_to_the_one_click_path(client: Client, sent: Send) -> None:
    url = path_of(links.preferences_url(learner_id=sent.learner_id))
    page = client.get(url).content.decode()
    action = re.search(r'<form method="post" action="(/u/[^"]+)">', page)
    assert action, page
    assert client.post(action.group(1)).status_code == 200
    learner = Learner.objects.get(pk=sent.learner_id)
    assert learner.unsubscribed_at is not None
    change = PreferenceChange.objects.get(learner=learner)
    assert (change.change, change.source) == ("unsubscribed", "unsubscribe_link")
    assert "You're unsubscribed" in client.get(url).content.decode()


def test_a_manager_pauses_from_their_page(client: Client, sent: Send) -> None:
    assert sent.learner.manager_id is not None
    manager = Manager.objects.get(pk=sent.learner.manager_id)
    url = path_of(links.manager_preferences_url(manager_id=manager.pk))
    page = client.get(url)
    assert page.status_code == 200 and "Messages about your team" in page.content.decode()
    manager.refresh_from_db()
    assert manager.messages_paused_until is None
    token = csrf_of(page.content)
    response = client.post(url, {"csrfmiddlewaretoken": token, "pause": "2"})
    assert response.status_code == 200 and "Saved. No messages until" in response.content.decode()
    manager.refresh_from_db()
    assert manager.messages_paused_until is not None
    assert manager.nudges_opted_out_at is None
    assert client.post(url, {"csrfmiddlewaretoken": token, "pause": "x"}).status_code == 400
    staff = Client()
    staff.force_login(staff_user("victor", "Viewers"))
    timeline = staff.get(f"/admin/campaigns/espevent/timeline/manager/{manager.pk}/")
    assert "Paused manager messages: until" in timeline.content.decode()


def test_the_survey_offers_the_list_staff_keep(client: Client, sent: Send) -> None:
    SurveyReason.objects.filter(code="technical").update(is_active=False)
    SurveyReason.objects.create(code="manager", label="My manager asked me to wait", position=5)
    url = path_of(links.survey_url(learner_id=sent.learner_id, send_id=sent.pk))
    text = client.get(url).content.decode()
    assert text.index("My manager asked me to wait") < text.index("I didn&#x27;t have time")
    assert "Technical problems" not in text
    assert 'name="reason" value="no_time"' in text
    assert client.post(url, {"reason": "technical"}).status_code == 400
    assert client.post(url, {"reason": "manager", "comment": "Busy quarter"}).status_code == 200
    answer = SurveyResponse.objects.get()
    assert (answer.reason, answer.comment) == ("manager", "Busy quarter")


def test_the_timeline_shows_each_change_with_its_source(client: Client, sent: Send) -> None:
    url = path_of(links.preferences_url(learner_id=sent.learner_id))
    token = csrf_of(client.get(url).content)
    client.post(url, {"csrfmiddlewaretoken": token, "pause": "2", "channels": ["email"]})
    staff = Client()
    staff.force_login(staff_user("victor", "Viewers"))
    text = staff.get(f"/admin/campaigns/espevent/timeline/learner/{sent.learner_id}/").content
    assert "Paused reminders: until" in text.decode()
    assert "from the preference centre" in text.decode()


def test_text_messages_are_offered_only_with_a_number_and_consent_and_switch_off_sms(
    client: Client, sent: Send
) -> None:
    url = path_of(links.preferences_url(learner_id=sent.learner_id))
    assert "Text messages (SMS)" not in client.get(url).content.decode()
    Learner.objects.filter(pk=sent.learner_id).update(phone="+4915112345678", sms_consent_at=day(0))
    page = client.get(url).content.decode()
    assert "Text messages (SMS)" in page
    # Unticking text messages (email stays ticked) is the SMS opt-out STOP would write.
    response = client.post(
        url, {"csrfmiddlewaretoken": csrf_of(page.encode()), "pause": "", "channels": "email"}
    )
    assert response.status_code == 200, response.content.decode()
    learner = Learner.objects.get(pk=sent.learner_id)
    assert learner.sms_opted_out_at is not None
    assert not learner.channel_preferences.filter(enabled=False).exists()
    assert PreferenceChange.objects.filter(learner=learner, detail="sms off").exists()
    # Ticking it again turns text messages back on.
    token = csrf_of(client.get(url).content)
    client.post(url, {"csrfmiddlewaretoken": token, "pause": "", "channels": ["email", "sms"]})
    learner.refresh_from_db()
    assert learner.sms_opted_out_at is None
    assert PreferenceChange.objects.filter(learner=learner, detail="sms on").exists()
