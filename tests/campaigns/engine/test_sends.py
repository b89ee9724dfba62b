"""Creating sends: who is skipped and why, and which variant a learner gets when."""

from __future__ import annotations

import pytest
from django.core import mail

from campaigns.engine.buckets import VARIANT, bucket
from campaigns.feedback import subscriptions
from campaigns.models import Audience, Campaign, Send, Step
from learners.models import Learner
from tests.campaigns.conftest import day, make_drip
from tests.campaigns.engine.helpers import learners, run
from tests.factories import (
    VariantFactory,
)

pytestmark = pytest.mark.django_db


def test_an_unsubscribe_stops_the_next_step(drip: Campaign) -> None:
    leaver, stayer = learners(2)
    run(0)
    subscriptions.unsubscribe_learner(learner_id=leaver.pk, now=day(1))
    run(3)
    assert [m.to for m in mail.outbox].count([leaver.email]) == 1
    assert [m.to for m in mail.outbox].count([stayer.email]) == 2


def test_sends_for_suppressed_learners_are_skipped_with_the_reason(drip: Campaign) -> None:
    (learner,) = learners(1)
    run(0)
    Learner.objects.filter(pk=learner.pk).update(suppressed_at=day(1), suppression_reason="bounce")
    result = run(3)
    assert result.skipped == 1
    skipped = Send.objects.get(step__position=2)
    assert (skipped.status, skipped.skip_reason) == ("skipped", "address suppressed")


def test_manager_sends_are_skipped_without_a_manager_or_after_opt_out(drip: Campaign) -> None:
    orphan = learners(1, manager=None)[0]
    opted = learners(1)[0]
    assert opted.manager is not None
    for n in (0, 3):
        run(n)
    subscriptions.opt_out_manager(manager_id=opted.manager.pk, now=day(4))
    run(7)
    manager_sends = Send.objects.filter(step__position=3, audience=Audience.MANAGER)
    reasons = dict(manager_sends.values_list("learner_id", "skip_reason"))
    assert reasons == {orphan.pk: "learner has no manager", opted.pk: "manager opted out"}
    # The learners themselves still get the day-7 email.
    assert Send.objects.filter(step__position=3, audience="learner", status="sent").count() == 2


def test_variants_follow_their_weights_and_a_learner_keeps_theirs(db: None) -> None:
    campaign = make_drip()
    first: Step = campaign.steps.get(position=1)
    a = VariantFactory.create(step=first, label="A", weight=80, subject="A: {{ first_name }}")
    b = VariantFactory.create(step=first, label="B", weight=20, subject="B: {{ first_name }}")
    people = learners(200)
    run(0)
    chosen = dict(Send.objects.values_list("learner_id", "variant_id"))
    for p in people:
        share = bucket(p.pk, purpose=VARIANT, salt=first.pk, modulus=100)
        assert chosen[p.pk] == (a.pk if share < 80 else b.pk)
    assert 130 <= list(chosen.values()).count(a.pk) <= 190
    subjects = {m.to[0]: m.subject[0] for m in mail.outbox}
    assert all(subjects[p.email] == ("A" if chosen[p.pk] == a.pk else "B") for p in people)


def test_a_variant_can_change_a_steps_timing(db: None) -> None:
    campaign = make_drip()
    second: Step = campaign.steps.get(position=2)
    VariantFactory.create(step=second, label="A", weight=50)
    early = VariantFactory.create(step=second, label="B", weight=50, delay_days=2)
    learners(40)
    run(0)
    run(2)
    on_day_2 = Send.objects.filter(step=second)
    assert on_day_2.exists()
    assert set(on_day_2.values_list("variant_id", flat=True)) == {early.pk}
    run(3)
    assert Send.objects.filter(step=second).count() == 40
