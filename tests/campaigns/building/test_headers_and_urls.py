"""Sender, reply-to and CTA URLs are refused at save when a header or a redirect would break."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.forms.models import model_to_dict

from campaigns.building import services
from campaigns.building.forms import BlueprintForm, CampaignForm, StepForm, VariantForm
from campaigns.feedback.pages import _Redirect
from campaigns.models import Campaign, CtaTarget
from tests.factories import NOW, CampaignFactory, SegmentFactory, StepFactory, VariantFactory

pytestmark = pytest.mark.django_db

INJECTED = [
    ("from_name", "Learning Team\r\nBcc: everyone@example.com"),
    ("from_name", "Learning Team\nX-Priority: 1"),
    ("from_email", "learning@example.com\r\nBcc: everyone@example.com"),
    ("reply_to", "help@example.com\nBcc: everyone@example.com"),
]
# What a browser (or our own redirect) will not follow, and what is not a web page.
BAD_URLS = [
    ("ftp://files.example.com/course.zip", "must start with https:// or http://"),
    ("mailto:help@example.com", "Enter a valid URL"),
    ("javascript:alert(1)", "Enter a valid URL"),
    ("https://admin:secret@lms.example.com/", "cannot carry a user name or password"),
]


def campaign_data(campaign: Campaign, **changes: Any) -> dict[str, Any]:
    data = model_to_dict(campaign)
    data["segment"] = campaign.segment_id
    data["sending_weekdays"] = [str(d) for d in campaign.weekday_list]
    data["welcome_back_incentive"] = ""
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def step_data(**changes: Any) -> dict[str, Any]:
    step = StepFactory.create()
    data = model_to_dict(step)
    data["incentive"] = ""
    data["position"] = step.position + 1  # a new step in the same campaign
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


@pytest.mark.parametrize(("field", "value"), INJECTED)
def test_the_campaign_form_refuses_a_line_break_in_a_header(field: str, value: str) -> None:
    campaign = CampaignFactory.create()
    form = CampaignForm(data=campaign_data(campaign, **{field: value}), instance=campaign)
    assert not form.is_valid()
    assert field in form.errors
    assert list(form.errors) == [field]


def test_the_campaign_form_saves_a_clean_sender() -> None:
    campaign = CampaignFactory.create()
    form = CampaignForm(
        data=campaign_data(campaign, from_name="Learning Team", reply_to="help@example.com"),
        instance=campaign,
    )
    assert form.is_valid(), form.errors


def test_the_blueprint_form_refuses_a_line_break_in_the_sender_name() -> None:
    form = BlueprintForm(
        data={
            "name": "Win back",
            "segment": SegmentFactory.create().pk,
            "from_name": "Team\r\nBcc: everyone@example.com",
            "from_email": "learning@example.com",
            "postal_address": "1 Learning Way",
        }
    )
    assert not form.is_valid()
    assert "cannot contain a line break" in form.errors["from_name"][0]


def test_launch_refuses_a_sender_with_a_line_break_stored_by_another_route() -> None:
    step = StepFactory.create(
        campaign=CampaignFactory.create(from_name="Team\r\nBcc: everyone@example.com")
    )
    with pytest.raises(ValidationError) as exc:
        services.launch_campaign(campaign=step.campaign, now=NOW)
    assert "From name cannot contain a line break." in exc.value.messages


@pytest.mark.parametrize(("url", "message"), BAD_URLS)
def test_the_step_form_refuses_a_cta_url_a_browser_would_not_follow(url: str, message: str) -> None:
    form = StepForm(data=step_data(cta_target=CtaTarget.URL, cta_url=url))
    assert not form.is_valid()
    assert message in " ".join(str(e) for e in form.errors["cta_url"])


@pytest.mark.parametrize(("url", "message"), BAD_URLS)
def test_the_variant_form_refuses_the_same_urls(url: str, message: str) -> None:
    step = StepFactory.create()
    form = VariantForm(
        data={"step": step.pk, "label": "B", "weight": 50, "cta_target": "url", "cta_url": url}
    )
    assert not form.is_valid()
    assert message in " ".join(str(e) for e in form.errors["cta_url"])


def test_an_https_cta_url_saves_and_redirects() -> None:
    url = "https://lms.example.com/cohorts/spring?ref=email"
    form = StepForm(data=step_data(cta_target=CtaTarget.URL, cta_url=url))
    assert form.is_valid(), form.errors
    assert _Redirect(url)["Location"] == url


def test_launch_refuses_a_cta_url_stored_by_another_route() -> None:
    step = StepFactory.create(cta_target=CtaTarget.URL, cta_url="ftp://files.example.com/x")
    VariantFactory.create(step=step, label="B", cta_url="https://u:p@lms.example.com/")
    with pytest.raises(ValidationError) as exc:
        services.launch_campaign(campaign=step.campaign, now=NOW)
    problems = exc.value.messages
    assert any("the CTA URL must start with https:// or http://" in p for p in problems)
    assert any("variant B: the CTA URL cannot carry a user name" in p for p in problems)
