"""A learner with a record of every kind: in a drip with others (some came back), with
progress, activity, LMS statements, sends to her and to her as a manager, ESP events whose
raw payloads quote her address, clicks, a suppression, an alert, a survey answer and the
admin's history of her row."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from io import StringIO

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db import connection

from campaigns.models import (
    Award,
    AwardPush,
    Campaign,
    Click,
    DeliverabilityAlert,
    DigestCheckIn,
    DiscountCode,
    EspEvent,
    ManagerDigest,
    Send,
    SuppressedAddress,
    SurveyResponse,
)
from learners import contactability
from learners.models import ActivityEvent, Learner, LmsSource, LmsStatement, Manager
from tests.campaigns.conftest import day, make_drip
from tests.campaigns.engine.helpers import learners, run
from tests.factories import CourseProgressFactory, IncentiveFactory, LearnerFactory, staff_user

ADDRESS = "annelise.zwoelfer@example.org"
FIRST, LAST = "Annelise", "Zwölfer"
SECRETS = (ADDRESS, FIRST, LAST, "annelise.zwoelfer")


@dataclass
class World:
    campaign: Campaign
    learner: Learner
    report: Learner


def results_json(campaign: Campaign, at: dt.datetime) -> str:
    out = StringIO()
    call_command("campaign_results", campaign.slug, "--json", "--now", at.isoformat(), stdout=out)
    return out.getvalue()


def cells_mentioning(*needles: str) -> list[tuple[str, str]]:
    """(table, cell) of every cell of every table whose text holds one of ``needles``."""
    found = []
    lowered = [n.lower() for n in needles]
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            for row in cursor.fetchall():
                for cell in row:
                    text = cell.decode(errors="replace") if isinstance(cell, bytes) else str(cell)
                    if any(n in text.lower() for n in lowered):
                        found.append((table, text[:120]))
    return found


@pytest.fixture
def world(db: None) -> World:
    campaign = make_drip(welcome_back_enabled=False)
    others = learners(4)
    learner = CourseProgressFactory.create(
        learner=LearnerFactory.create(
            email=ADDRESS, first_name=FIRST, last_name=LAST, external_id="LMS-4711"
        ),
        resume_url="https://lms.example.com/resume/annelise.zwoelfer",
    ).learner
    as_manager = Manager.objects.create(email=ADDRESS, name=f"{FIRST} {LAST}", learner=learner)
    report = CourseProgressFactory.create(learner=LearnerFactory.create(manager=as_manager)).learner
    digest = ManagerDigest.objects.create(
        manager=as_manager,
        week_of=day(6).date(),
        to_email=ADDRESS,
        due_at=day(6),
        created_at=day(6),
        subject=f"Your team this week, {FIRST}",
    )
    DigestCheckIn.objects.create(
        digest=digest, learner=report, created_at=day(6), paused_until=day(13)
    )
    discount = IncentiveFactory.create(kind="discount_code", title="20% off")
    campaign.steps.filter(position=2).update(incentive=discount)
    DiscountCode.objects.bulk_create(
        [DiscountCode(incentive=discount, code=c) for c in ("BACK-10", "BACK-20")]
    )
    run(0)
    run(3)
    run(7)
    # One other learner and she come back on day 8.
    for who in (others[0], learner):
        ActivityEvent.objects.create(
            external_id=f"ev-{who.pk}", learner=who, kind="login", occurred_at=day(8)
        )
        Learner.objects.filter(pk=who.pk).update(last_active_at=day(8))
    run(9)
    send = Send.objects.filter(learner=learner, audience="learner", status="sent").first()
    assert send is not None
    award = Award.objects.get(learner=learner)
    assert award.code
    AwardPush.objects.create(award=award, next_attempt_at=day(9), last_error="HTTP 503")
    to_her = Send.objects.filter(manager=as_manager).first()
    assert to_her is not None and to_her.to_email == ADDRESS
    raw = {"event": "bounce", "email": ADDRESS, "reason": f"550 5.1.1 <{ADDRESS}> unknown"}
    bounce = EspEvent.objects.create(
        esp="sendgrid",
        key="sg-1",
        event_type="bounced",
        recipient=ADDRESS,
        occurred_at=day(3),
        received_at=day(3),
        raw=raw,
        send=send,
        campaign=campaign,
        mta_response=f"550 5.1.1 <{ADDRESS}>: no such user",
        classification="recipient",
    )
    # An event the ESP sent for her address that matched no send.
    EspEvent.objects.create(
        esp="sendgrid",
        key="sg-2",
        event_type="opened",
        recipient=ADDRESS.upper(),
        occurred_at=day(4),
        received_at=day(4),
        raw={"email": ADDRESS},
    )
    EspEvent.objects.create(
        esp="sendgrid",
        key="sg-3",
        event_type="delivered",
        recipient=ADDRESS,
        occurred_at=day(7),
        received_at=day(7),
        raw={"email": ADDRESS},
        send=to_her,
    )
    SuppressedAddress.objects.create(
        address=ADDRESS,
        reason="bounce",
        detail=raw["reason"],
        event=bounce,
        suppressed_at=day(3),
        lifted_at=day(4),
        lift_reason=f"{FIRST} asked us to try again",
    )
    DeliverabilityAlert.objects.create(
        campaign=campaign,
        kind="sender_problem",
        event=bounce,
        created_at=day(3),
        message=f"Blocked by policy for {ADDRESS}",
    )
    Click.objects.create(send=send, at=day(8), method="GET", user_agent="Mozilla/5.0")
    contactability.set_learners_channel(
        learner_ids=[learner.pk],
        channel="email",
        enabled=False,
        now=day(8),
        source="preference_centre",
    )
    contactability.pause_managers(
        manager_ids=[as_manager.pk], until=day(22), now=day(8), source="preference_centre"
    )
    SurveyResponse.objects.create(
        learner=learner,
        send=send,
        campaign=campaign,
        reason="no_time",
        comment=f"Ich bin {FIRST}, zu viel Arbeit",
        created_at=day(8),
    )
    source = LmsSource.objects.create(name="Moodle", key="moodle", secret_digest="x" * 64)
    LmsStatement.objects.create(
        source=source,
        standard="xapi",
        statement_id="st-1",
        digest="d" * 64,
        verb="http://adlnet.gov/expapi/verbs/launched",
        actor=f"mailto:{ADDRESS}",
        learner=learner,
        status="applied",
        raw={"actor": {"mbox": f"mailto:{ADDRESS}", "name": f"{FIRST} {LAST}"}},
        occurred_at=day(8),
        received_at=day(8),
    )
    editor = staff_user("editor")
    LogEntry.objects.create(
        user=editor,
        content_type=ContentType.objects.get_for_model(Learner),
        object_id=str(learner.pk),
        object_repr=str(learner),
        action_flag=CHANGE,
        change_message=f'[{{"changed": {{"fields": ["Email"]}}}}] {ADDRESS}',
    )
    learner.refresh_from_db()
    return World(campaign=campaign, learner=learner, report=report)
