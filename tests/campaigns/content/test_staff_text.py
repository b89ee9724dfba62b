"""Staff text is text: what staff type shows as typed, and the button stays the one link."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.test import Client
from django.urls import reverse

from campaigns.building import services
from campaigns.building.forms import BlueprintForm, IncentiveForm, StepForm, VariantForm
from campaigns.content import emails, templating
from campaigns.delivery import deliver as delivery
from campaigns.engine import run as engine
from campaigns.models import Audience, Campaign
from tests.campaigns.conftest import day
from tests.factories import (
    NOW,
    CampaignFactory,
    CourseProgressFactory,
    IncentiveFactory,
    LearnerFactory,
    SegmentFactory,
    StepFactory,
)

HREF = re.compile(r"<a\s[^>]*href=\"([^\"]*)\"")
# Typed into a body before saving was checked, or stored some other way.
MARKUP = (
    "Press <Save> & you're done.\n\n"
    '<a href="https://evil.example/">Claim your prize</a> '
    '<img src="https://evil.example/pixel.png"> <b>bold</b>'
)


def html_of(message: EmailMultiAlternatives) -> str:
    ((content, _mimetype),) = message.alternatives
    return str(content)


@pytest.mark.django_db
def test_text_staff_type_shows_as_typed_in_the_html_part() -> None:
    learner = LearnerFactory.create()
    CourseProgressFactory.create(learner=learner)
    step = StepFactory.create(
        body="Press <Save> & then “Next”.\nThat's it.\n\nSee you, {{ first_name }}"
    )
    rendered = emails.render_preview(
        step=step, variant=None, audience=Audience.LEARNER, learner=learner, now=NOW
    )
    assert "<p>Press &lt;Save&gt; &amp; then “Next”.<br>That&#x27;s it.</p>" in rendered.html
    assert f"<p>See you, {learner.first_name}</p>" in rendered.html
    assert "Press <Save> & then “Next”." in rendered.text


def test_typed_links_are_refused_at_save() -> None:
    for source, start in [
        ('<a href="https://evil.example/">here</a>', "https://"),
        ("Visit http://lms.example.com/other", "http://"),
        ("See www.example.com", "www."),
        ("Write to mailto:help@example.com", "mailto:"),
        ('<img src="ftp://evil.example/p.png">', "ftp://"),
        ("{{ first_name|default:'https://evil.example' }}", "https://"),
    ]:
        with pytest.raises(ValidationError) as exc:
            templating.validate_template(source, field="Body")
        assert f"“{start}” starts a link; the button is the email's one link" in str(exc.value)


def test_the_tracked_link_cannot_be_repeated_in_the_text() -> None:
    with pytest.raises(ValidationError, match=r"\{\{ cta_url \}\} cannot be used"):
        templating.validate_template("Click {{ cta_url }}", field="Body")


def test_the_button_is_the_only_link_even_for_markup_stored_unchecked(drip: Campaign) -> None:
    step = drip.steps.get(position=1)
    step.body = MARKUP
    step.save()
    learner = LearnerFactory.create()
    CourseProgressFactory.create(learner=learner)
    engine.run_pass(now=day(0))
    delivery.deliver_queued(now=day(0))
    (message,) = [m for m in mail.outbox if isinstance(m, EmailMultiAlternatives)]
    html = html_of(message)
    hrefs = HREF.findall(html)
    # The CTA through the signed click redirect, and the footer's preference centre and
    # unsubscribe links: no other.
    assert len(hrefs) == 3
    assert hrefs[0].startswith("https://learn.example.com/c/")
    assert hrefs[1].startswith("https://learn.example.com/p/")
    assert hrefs[2].startswith("https://learn.example.com/u/")
    assert "<img" not in html and "<b>" not in html and 'evil.example/">' not in html
    assert "Press &lt;Save&gt; &amp; you&#x27;re done." in html
    assert "&lt;a href=&quot;https://evil.example/&quot;&gt;Claim your prize&lt;/a&gt;" in html
    assert "Press <Save> & you're done." in message.body


def test_the_editor_says_what_formatting_is_available() -> None:
    for form in (StepForm(), VariantForm()):
        help_text = str(form.fields["body"].help_text)
        assert "blank line starts a new paragraph" in help_text
        assert "single line break stays a line break" in help_text
        assert "Links cannot be typed" in help_text


@pytest.mark.django_db
def test_the_step_editor_shows_the_formatting_help() -> None:
    client = Client()
    client.force_login(User.objects.create_superuser("admin", "admin@example.com", "pw"))
    page = client.get(reverse("admin:campaigns_step_add")).content.decode()
    assert "A blank line starts a new paragraph and a single line break stays a line" in page
    assert "so HTML and Markdown appear as written" in page


@pytest.mark.django_db
def test_a_link_in_staff_text_outside_templates_is_refused_at_save_and_launch() -> None:
    incentive = IncentiveForm(
        data={"kind": "badge", "title": "Badge", "description": "See https://evil.example/"}
    )
    assert not incentive.is_valid()
    assert "cannot carry a link (“https://”)" in incentive.errors["description"][0]
    blueprint_form = BlueprintForm(
        data={
            "name": "Win back",
            "segment": SegmentFactory.create().pk,
            "from_name": "Team",
            "from_email": "learning@example.com",
            "postal_address": "1 Learning Way, www.example.com",
        }
    )
    assert not blueprint_form.is_valid()
    assert "cannot carry a link (“www.”)" in blueprint_form.errors["postal_address"][0]

    step = StepFactory.create(
        campaign=CampaignFactory.create(postal_address="1 Learning Way\nhttps://evil.example/"),
        incentive=IncentiveFactory.create(title="Badge", value="mailto:x@example.com"),
    )
    with pytest.raises(ValidationError) as exc:
        services.launch_campaign(campaign=step.campaign, now=NOW)
    problems = exc.value.messages
    assert (
        "Postal address cannot carry a link (“https://”): the button is the email's one link."
        in problems
    )
    assert any(p.startswith("Incentive “Badge”, value: cannot carry a link") for p in problems)
