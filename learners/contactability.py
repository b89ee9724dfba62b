"""Whether a learner or a manager may be contacted: the one module that writes it.

Unsubscribing, suppression (hard bounce, complaint), sunset, a manager's opt-out of nudges or
of the weekly digest, a learner's opt-out of text messages and the choices of the preference
centre (pausing, a personal weekly cap, channels, a manager's pause) are written here and
nowhere else, so their rules hold everywhere: the first moment is kept (a repeat changes
nothing), and none of them is ever cleared by an import or an API call. Every change a person
makes in the preference centre is recorded as a :class:`~learners.models.PreferenceChange`
(what, when, from where) for their timeline. What a campaign does about it (ending
enrollments, skipping pending sends) is the caller's business.

Every function is set-based (ids, a list or a queryset of them, or one value per id) and
returns how many rows changed. Lifting a suppression, which staff do with a reason, is the one
way a flag is ever cleared.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from django.db.models import QuerySet

from learners.models import (
    CHANNEL_DEFAULT_ON,
    ChannelPreference,
    ContactChannel,
    Learner,
    Manager,
)
from learners.models import PreferenceChange as Change
from reengagement.rows import update_rows

Ids = Iterable[int] | QuerySet[Any, Any]


def _ids(ids: Ids) -> Any:
    return ids if isinstance(ids, QuerySet) else list(ids)


def _record(
    *,
    change: str,
    source: str,
    now: dt.datetime,
    detail: str = "",
    learner_ids: Iterable[int] = (),
    manager_ids: Iterable[int] = (),
) -> None:
    rows = [
        Change(learner_id=pk, change=change, detail=detail, source=source, at=now)
        for pk in learner_ids
    ]
    rows += [
        Change(manager_id=pk, change=change, detail=detail, source=source, at=now)
        for pk in manager_ids
    ]
    Change.objects.bulk_create(rows, batch_size=1000)


def _changed_learners(learner_ids: Ids, **unchanged: Any) -> list[int]:
    """The ids of ``learner_ids`` whose row differs from ``unchanged`` (field=value, or a
    ``__lookup`` that holds where nothing would change)."""
    qs = Learner.objects.filter(pk__in=_ids(learner_ids)).exclude(**unchanged)
    return list(qs.order_by("pk").values_list("pk", flat=True))


def unsubscribe_learners(*, learner_ids: Ids, now: dt.datetime, source: str | None = None) -> int:
    """The learners asked for no more campaign email (GDPR art. 21: immediate). With
    ``source`` (the learner's own action) the change goes on their timeline."""
    if source is None:
        return Learner.objects.filter(
            pk__in=_ids(learner_ids), unsubscribed_at__isnull=True
        ).update(unsubscribed_at=now)
    changed = _changed_learners(learner_ids, unsubscribed_at__isnull=False)
    count = Learner.objects.filter(pk__in=changed, unsubscribed_at__isnull=True).update(
        unsubscribed_at=now
    )
    _record(change=Change.Change.UNSUBSCRIBED, source=source, now=now, learner_ids=changed)
    return count


def pause_learners(*, learner_ids: Ids, until: dt.datetime, now: dt.datetime, source: str) -> int:
    """No reminders to the learners until ``until``: due steps are skipped until then."""
    if until <= now:
        raise ValueError(f"a pause must end after it starts ({until.isoformat()})")
    changed = _changed_learners(learner_ids, reminders_paused_until=until)
    count = Learner.objects.filter(pk__in=changed).update(reminders_paused_until=until)
    _record(
        change=Change.Change.PAUSED,
        detail=f"until {until:%Y-%m-%d %H:%M} UTC",
        source=source,
        now=now,
        learner_ids=changed,
    )
    return count


def resume_learners(*, learner_ids: Ids, now: dt.datetime, source: str) -> int:
    """End the learners' pause now (a pause already over changes nothing)."""
    changed = list(
        Learner.objects.filter(pk__in=_ids(learner_ids), reminders_paused_until__gt=now)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    count = Learner.objects.filter(pk__in=changed).update(reminders_paused_until=None)
    _record(change=Change.Change.RESUMED, source=source, now=now, learner_ids=changed)
    return count


def set_learners_weekly_cap(
    *, learner_ids: Ids, cap: int | None, now: dt.datetime, source: str
) -> int:
    """The learners' own limit of emails in any 7 days (None: the campaigns' cap alone). The
    lower of it and a campaign's cap applies."""
    if cap is not None and cap < 1:
        raise ValueError(f"a weekly cap is at least 1 email (got {cap})")
    changed = _changed_learners(learner_ids, weekly_cap=cap)
    count = Learner.objects.filter(pk__in=changed).update(weekly_cap=cap)
    detail = f"at most {cap} a week" if cap is not None else "the campaigns' own cap"
    _record(
        change=Change.Change.WEEKLY_CAP, detail=detail, source=source, now=now, learner_ids=changed
    )
    return count


def set_learners_channel(
    *, learner_ids: Ids, channel: str, enabled: bool, now: dt.datetime, source: str
) -> int:
    """Turn one channel on or off for the learners; returns how many choices changed."""
    if channel == ContactChannel.SMS:
        return _set_sms(Learner, ids=learner_ids, enabled=enabled, now=now, source=source)
    if channel not in CHANNEL_DEFAULT_ON:
        raise ValueError(f"unknown channel {channel!r}")
    ids = list(Learner.objects.filter(pk__in=_ids(learner_ids)).values_list("pk", flat=True))
    stored = dict(
        ChannelPreference.objects.filter(learner_id__in=ids, channel=channel).values_list(
            "learner_id", "enabled"
        )
    )
    default = CHANNEL_DEFAULT_ON[channel]  # type: ignore[index]
    changed = sorted(pk for pk in ids if stored.get(pk, default) != enabled)
    ChannelPreference.objects.bulk_create(
        [
            ChannelPreference(learner_id=pk, channel=channel, enabled=enabled, changed_at=now)
            for pk in changed
        ],
        update_conflicts=True,
        unique_fields=["learner", "channel"],
        update_fields=["enabled", "changed_at"],
    )
    state = "on" if enabled else "off"
    _record(
        change=Change.Change.CHANNEL,
        detail=f"{channel} {state}",
        source=source,
        now=now,
        learner_ids=changed,
    )
    return len(changed)


def _set_sms(
    model: type[Learner] | type[Manager], *, ids: Ids, enabled: bool, now: dt.datetime, source: str
) -> int:
    """Text messages on or off, as the person's own choice (the preference centre, a STOP or
    START reply): off is the SMS opt-out, on clears it (consent given before still stands);
    each change goes on their timeline."""
    rows = model.objects.filter(pk__in=_ids(ids), sms_opted_out_at__isnull=not enabled)
    changed = sorted(rows.values_list("pk", flat=True))
    model.objects.filter(pk__in=changed).update(sms_opted_out_at=None if enabled else now)
    whose = "learner_ids" if model is Learner else "manager_ids"
    _record(
        change=Change.Change.CHANNEL,
        detail=f"sms {'on' if enabled else 'off'}",
        source=source,
        now=now,
        **{whose: changed},
    )
    return len(changed)


def sms_by_reply(*, phone: str, enabled: bool, now: dt.datetime) -> int:
    """Someone answered a text with STOP (``enabled`` False) or START: text messages off, or
    on again where they had given SMS consent, for every learner and manager with that number
    (E.164), on their timeline."""
    if not phone:
        return 0
    changed = 0
    for model in (Learner, Manager):
        people = model.objects.filter(phone=phone)
        if enabled:
            people = people.filter(sms_consent_at__isnull=False)
        changed += _set_sms(
            model,
            ids=people.values_list("pk", flat=True),
            enabled=enabled,
            now=now,
            source=Change.Source.TEXT_REPLY,
        )
    return changed


def suppress_learners(
    *, learner_ids: Ids, reason: Learner.SuppressionReason, now: dt.datetime
) -> int:
    """The learners' addresses must not be mailed again (a hard bounce, a complaint)."""
    return Learner.objects.filter(pk__in=_ids(learner_ids), suppressed_at__isnull=True).update(
        suppressed_at=now, suppression_reason=reason
    )


def sunset_learners(*, learner_ids: Ids, now: dt.datetime) -> int:
    """The learners finished a sequence without returning: never enrolled again."""
    return Learner.objects.filter(pk__in=_ids(learner_ids), sunset_at__isnull=True).update(
        sunset_at=now
    )


def opt_out_managers(*, manager_ids: Ids, now: dt.datetime, source: str | None = None) -> int:
    """The managers want no more nudges or hand-offs; their reports stay subscribed. With
    ``source`` (the manager's own action) the change goes on their timeline."""
    pending = Manager.objects.filter(pk__in=_ids(manager_ids), nudges_opted_out_at__isnull=True)
    if source is None:
        return pending.update(nudges_opted_out_at=now)
    changed = list(pending.order_by("pk").values_list("pk", flat=True))
    count = Manager.objects.filter(pk__in=changed).update(nudges_opted_out_at=now)
    _record(change=Change.Change.MANAGER_OPTED_OUT, source=source, now=now, manager_ids=changed)
    return count


def pause_managers(*, manager_ids: Ids, until: dt.datetime, now: dt.datetime, source: str) -> int:
    """No messages to the managers until ``until``; messages due meanwhile are skipped."""
    if until <= now:
        raise ValueError(f"a pause must end after it starts ({until.isoformat()})")
    changed = list(
        Manager.objects.filter(pk__in=_ids(manager_ids))
        .exclude(messages_paused_until=until)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    count = Manager.objects.filter(pk__in=changed).update(messages_paused_until=until)
    _record(
        change=Change.Change.MANAGER_PAUSED,
        detail=f"until {until:%Y-%m-%d %H:%M} UTC",
        source=source,
        now=now,
        manager_ids=changed,
    )
    return count


def resume_managers(*, manager_ids: Ids, now: dt.datetime, source: str) -> int:
    """End the managers' pause now."""
    changed = list(
        Manager.objects.filter(pk__in=_ids(manager_ids), messages_paused_until__gt=now)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    count = Manager.objects.filter(pk__in=changed).update(messages_paused_until=None)
    _record(change=Change.Change.MANAGER_RESUMED, source=source, now=now, manager_ids=changed)
    return count


def opt_out_manager_digests(*, manager_ids: Ids, now: dt.datetime) -> int:
    """The managers want no more weekly team digests; nudges are a list of their own."""
    return Manager.objects.filter(
        pk__in=_ids(manager_ids), digests_opted_out_at__isnull=True
    ).update(digests_opted_out_at=now)


def suppress_learners_at(*, moments: Mapping[int, tuple[dt.datetime, str]]) -> int:
    """Suppress each learner from its own moment, with its reason (ESP events applied in a
    batch): an earlier moment already stored is kept, the reason given replaces the stored one
    (the caller ranks a complaint above a bounce)."""
    learners = list(
        Learner.objects.filter(pk__in=list(moments))
        .only("pk", "suppressed_at", "suppression_reason")
        .order_by("pk")
    )
    for learner in learners:
        at, reason = moments[learner.pk]
        if learner.suppressed_at is None or at < learner.suppressed_at:
            learner.suppressed_at = at
        # An erased address stays suppressed for that reason: lifting a bounce must not free it.
        if learner.suppression_reason != Learner.SuppressionReason.ERASED:
            learner.suppression_reason = reason
    update_rows(learners, ["suppressed_at", "suppression_reason"])
    return len(learners)


def suppress_learners_where(*, learners: QuerySet[Learner], at: Any, reason: Any) -> int:
    """Suppress the learners of ``learners`` not suppressed yet; ``at`` and ``reason`` may be
    expressions (e.g. a subquery on the suppression list), so this is one statement."""
    return learners.filter(suppressed_at__isnull=True).update(
        suppressed_at=at, suppression_reason=reason
    )


def lift_learner_suppression(*, email: str) -> int:
    """Staff lifted the suppression of this address (with a reason kept by the caller): the
    only way a suppression is ever cleared. An erased address is never lifted this way."""
    return (
        Learner.objects.filter(email=email)
        .exclude(suppression_reason=Learner.SuppressionReason.ERASED)
        .update(suppressed_at=None, suppression_reason="")
    )


def erase_learner_contact(*, learner_ids: Ids, now: dt.datetime) -> int:
    """The learners were erased: unsubscribed and suppressed for good, from ``now``."""
    ids = _ids(learner_ids)
    Learner.objects.filter(pk__in=ids, unsubscribed_at__isnull=True).update(unsubscribed_at=now)
    return Learner.objects.filter(pk__in=ids).update(
        suppressed_at=now, suppression_reason=Learner.SuppressionReason.ERASED
    )


def opt_out_managers_at(*, moments: Mapping[int, dt.datetime]) -> int:
    """Stop each manager's nudges from its own moment (a bounce or complaint of their own)."""
    managers = list(
        Manager.objects.filter(pk__in=list(moments), nudges_opted_out_at__isnull=True).only("pk")
    )
    for manager in managers:
        manager.nudges_opted_out_at = moments[manager.pk]
    update_rows(managers, ["nudges_opted_out_at"])
    return len(managers)


def restore_manager_nudges(*, email: str) -> int:
    """The manager's address was stopped only by a suppression that staff lifted."""
    return Manager.objects.filter(email=email).update(nudges_opted_out_at=None)


def opt_out_sms(*, learner_ids: Ids, now: dt.datetime) -> int:
    """The learners want no more text messages (STOP, or the carrier said so); email and
    their other channels are unaffected."""
    return Learner.objects.filter(pk__in=_ids(learner_ids), sms_opted_out_at__isnull=True).update(
        sms_opted_out_at=now
    )


def opt_out_sms_numbers(*, phones: Iterable[str], now: dt.datetime) -> int:
    """Every learner and manager with one of these numbers (E.164) wants no more text
    messages."""
    numbers = [number for number in phones if number]
    if not numbers:
        return 0
    return Learner.objects.filter(phone__in=numbers, sms_opted_out_at__isnull=True).update(
        sms_opted_out_at=now
    ) + Manager.objects.filter(phone__in=numbers, sms_opted_out_at__isnull=True).update(
        sms_opted_out_at=now
    )


def opt_out_manager_sms(*, manager_ids: Ids, now: dt.datetime) -> int:
    """The managers want no more text messages (the carrier said so); their email and other
    channels are unaffected."""
    return Manager.objects.filter(pk__in=_ids(manager_ids), sms_opted_out_at__isnull=True).update(
        sms_opted_out_at=now
    )
