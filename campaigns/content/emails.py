"""Every email the product sends is built here: campaign steps (learner and manager copies),
welcome-back milestones, manager hand-offs, the weekly team digest, and staff test sends.

Staff-written parts (subject, preheader, body, manager script) go through the locked-down
engine in :mod:`campaigns.content.templating` over a flat dict of plain values; the layout
around them (button, footer, unsubscribe, postal address) is the project's own template
``emails/message-body.{html,txt}``.
"""

from __future__ import annotations

import datetime as dt
import functools
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.utils import formataddr, parseaddr
from typing import Any
from urllib.parse import quote

from anymail.message import AnymailMessage
from django.conf import settings
from django.template.loader import get_template, render_to_string
from django.utils.safestring import mark_safe

from campaigns.content import links, templating, wording
from campaigns.models import (
    Audience,
    Campaign,
    CtaTarget,
    DigestSettings,
    Enrollment,
    Incentive,
    ManagerDigest,
    Send,
    Step,
    Variant,
)
from learners.models import Course, CourseProgress, Learner, Manager

PREVIEW_LINK = links.absolute("/u/preview/")


@dataclass(frozen=True)
class Content:
    """What staff wrote for one message, after a variant's overrides."""

    subject: str
    preheader: str
    body: str
    cta_label: str
    cta_target: str
    cta_url: str = ""
    incentive: Incentive | None = None
    manager_script: str = ""


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    preheader: str
    text: str
    html: str
    from_email: str
    to: str
    reply_to: list[str]
    headers: dict[str, str]
    destination_url: str
    metadata: dict[str, str] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    # The parts a chat message is built from (Slack, Teams): the staff body as plain text, the
    # manager's ready-to-send line, the button, and the recipient's opt-out.
    body_text: str = ""
    script: str = ""
    cta_label: str = ""
    cta_href: str = ""
    opt_out_url: str = ""
    opt_out_label: str = ""

    def as_message(self) -> AnymailMessage:
        """The message for django-anymail; plain Django backends ignore the anymail extras."""
        message = AnymailMessage(
            subject=self.subject,
            body=self.text,
            from_email=self.from_email,
            to=[self.to],
            reply_to=self.reply_to or None,
            headers=self.headers,
        )
        message.attach_alternative(self.html, "text/html")
        message.metadata = self.metadata
        message.tags = self.tags
        # Clicks go through our own signed redirect; the ESP must not rewrite links.
        message.track_clicks = False
        return message


def step_content(step: Step, variant: Variant | None, *, audience: str) -> Content:
    """The effective copy of a step for one audience, with a variant's overrides applied."""
    if audience == Audience.MANAGER:
        return Content(
            subject=step.manager_subject or step.subject,
            preheader="",
            body=step.manager_body or step.body,
            cta_label=wording.MANAGER_CTA_LABEL,
            cta_target="mailto",
            manager_script=step.manager_script or wording.HANDOFF_SCRIPT,
        )
    v = variant
    return Content(
        subject=(v and v.subject) or step.subject,
        preheader=(v and v.preheader) or step.preheader,
        body=(v and v.body) or step.body,
        cta_label=(v and v.cta_label) or step.cta_label,
        cta_target=(v and v.cta_target) or step.cta_target,
        cta_url=(v and v.cta_url) or step.cta_url,
        incentive=step.incentive,
    )


def welcome_back_content(campaign: Campaign) -> Content:
    return Content(
        subject=campaign.welcome_back_subject or wording.WELCOME_BACK_SUBJECT,
        preheader="",
        body=campaign.welcome_back_body or wording.WELCOME_BACK_BODY,
        cta_label="Continue learning",
        cta_target=CtaTarget.RESUME,
        incentive=campaign.welcome_back_incentive,
    )


def handoff_content() -> Content:
    return Content(
        subject=wording.HANDOFF_SUBJECT,
        preheader="",
        body=wording.HANDOFF_BODY,
        cta_label=wording.MANAGER_CTA_LABEL,
        cta_target="mailto",
        manager_script=wording.HANDOFF_SCRIPT,
    )


def _local_date(now: dt.datetime, tz_name: str, days: int) -> str:
    try:
        tz = zoneinfo.ZoneInfo(tz_name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        tz = zoneinfo.ZoneInfo("UTC")
    day = (now + dt.timedelta(days=days)).astimezone(tz)
    return f"{day:%A} {day.day} {day:%B}"


def template_context(
    *,
    learner: Learner,
    manager: Manager | None,
    course: Course | None,
    progress: CourseProgress | None,
    campaign: Campaign,
    incentive: Incentive | None,
    now: dt.datetime,
) -> dict[str, str | int]:
    """The flat dict of plain values every staff template is rendered over."""
    manager_name = manager.name if manager else ""
    incentive_expires_on = ""
    if incentive and incentive.expires_in_days:
        incentive_expires_on = _local_date(now, learner.time_zone, incentive.expires_in_days)
    return {
        "first_name": learner.first_name or wording.NO_FIRST_NAME,
        "last_name": learner.last_name,
        "full_name": learner.full_name or learner.email,
        "course_title": course.title if course else wording.NO_COURSE,
        "last_module": (progress.last_module if progress else "") or wording.NO_LAST_MODULE,
        "next_module": (progress.next_module if progress else "") or wording.NO_NEXT_MODULE,
        "minutes_remaining": (progress.minutes_remaining or 0) if progress else 0,
        "percent_complete": round(progress.percent_complete) if progress else 0,
        "manager_name": manager_name,
        "manager_first_name": manager_name.split(" ")[0] if manager_name else "",
        "finish_by": _local_date(now, learner.time_zone, 7),
        "cta_label": "",
        "cta_url": "",
        "incentive_title": incentive.title if incentive else "",
        "incentive_description": incentive.description if incentive else "",
        "incentive_value": incentive.value if incentive else "",
        "incentive_expires_on": incentive_expires_on,
        # Only where awards are pushed to the LMS may an email say they show on the profile.
        "incentive_on_profile": "yes" if incentive and settings.AWARD_WEBHOOK_URL else "",
        "campaign_name": campaign.name,
        "sender_name": campaign.from_name or "The Learning Team",
    }


def destination(
    *,
    content: Content,
    context: dict[str, str | int],
    learner: Learner,
    course: Course | None,
    progress: CourseProgress | None,
    survey_link: str,
) -> str:
    """Where the one CTA leads: the deep link that resumes the course, the survey, a URL, or
    (for managers) a ready-to-send email to their report."""
    if content.cta_target == "mailto":
        script = templating.render_text(content.manager_script, context)
        subject = quote(course.title if course else wording.MANAGER_NOTE_SUBJECT)
        return f"mailto:{learner.email}?subject={subject}&body={quote(script)}"
    if content.cta_target == CtaTarget.SURVEY:
        return survey_link
    if content.cta_target == CtaTarget.URL and content.cta_url:
        return content.cta_url
    # Resume and next module both open the deep link: the LMS puts it at the point of
    # interruption, which is the start of the next module.
    if progress and progress.resume_url:
        return progress.resume_url
    if course and course.url:
        return course.url
    return settings.LMS_URL


def _from_address(campaign: Campaign) -> str:
    if campaign.from_email:
        return formataddr((campaign.from_name, campaign.from_email))
    return settings.DEFAULT_FROM_EMAIL


def _message_domain() -> str:
    address = settings.DEFAULT_FROM_EMAIL.rsplit("@", 1)[-1].strip(" >")
    return address or "localhost"


# Longer than most functions here: its keyword-only signature names every input an email
# needs, and the layout dict every value the layout shows; the CTA, opt-out, bodies and
# headers are already functions of their own.
def render(
    *,
    content: Content,
    campaign: Campaign,
    audience: str,
    learner: Learner,
    manager: Manager | None,
    course: Course | None,
    progress: CourseProgress | None,
    now: dt.datetime,
    send: Send | None,
    utm_content: str,
    to: str,
) -> RenderedEmail:
    """Build one email. With ``send`` the links are tracked and signed for that send; without
    it (preview, test send) the CTA leads straight to its destination."""
    context = template_context(
        learner=learner,
        manager=manager,
        course=course,
        progress=progress,
        campaign=campaign,
        incentive=content.incentive,
        now=now,
    )
    target, cta_href = _cta(
        content=content,
        context=context,
        campaign=campaign,
        learner=learner,
        course=course,
        progress=progress,
        send=send,
        utm_content=utm_content,
    )
    cta_label = templating.render_subject(content.cta_label, context)
    context["cta_label"] = cta_label
    context["cta_url"] = cta_href
    opt_out, unsubscribe_label = _opt_out(
        audience=audience, learner=learner, manager=manager, send=send
    )
    preferences, preferences_label = _preferences(
        audience=audience, learner=learner, manager=manager, send=send
    )
    values = templating.Values(context)
    subject = templating.render_subject(content.subject, values)
    preheader = templating.render_subject(content.preheader, values) if content.preheader else ""
    layout: dict[str, Any] = {
        "subject": subject,
        "preheader": preheader,
        "cta_label": cta_label,
        "cta_href": cta_href,
        "script": (
            templating.render_text(content.manager_script, values) if content.manager_script else ""
        ),
        "unsubscribe_url": opt_out,
        "unsubscribe_label": unsubscribe_label,
        "preferences_url": preferences,
        "preferences_label": preferences_label,
        "postal_address": campaign.postal_address,
        "sender_name": context["sender_name"],
        "is_manager": audience == Audience.MANAGER,
        "learner_name": context["full_name"],
    }
    body_text = templating.render_text(content.body, values)
    text, html = _bodies(body_text, content.body, values, layout)
    return RenderedEmail(
        subject=subject,
        preheader=preheader,
        text=text.strip() + "\n",
        html=html,
        from_email=_from_address(campaign),
        to=to,
        reply_to=[campaign.reply_to] if campaign.reply_to else [],
        headers=_headers(opt_out=opt_out, campaign=campaign, send=send),
        destination_url=target,
        metadata={"send_id": str(send.pk)} if send else {},
        tags=[campaign.slug],
        body_text=body_text,
        script=layout["script"],
        cta_label=cta_label,
        cta_href=cta_href,
        opt_out_url=opt_out,
        opt_out_label=unsubscribe_label,
    )


def _bodies(
    body_text: str, body: str, values: templating.Values, layout: dict[str, Any]
) -> tuple[str, str]:
    """The text and HTML parts: the staff-written body (``body_text`` is it rendered as plain
    text) inside the project's own layout."""
    text = render_to_string("emails/message-body.txt", {**layout, "body": body_text})
    html = render_to_string(
        "emails/message-body.html",
        # render_html escapes everything, typed text and values alike, and adds only <p>/<br>.
        {**layout, "body": mark_safe(templating.render_html(body, values))},  # noqa: S308
    )
    return text, html


def _cta(
    *,
    content: Content,
    context: dict[str, Any],
    campaign: Campaign,
    learner: Learner,
    course: Course | None,
    progress: CourseProgress | None,
    send: Send | None,
    utm_content: str,
) -> tuple[str, str]:
    """Where the CTA leads (with UTM parameters) and the link in the email: the signed click
    redirect for a send, the destination itself in a preview."""
    # A preview or test send must not let staff unsubscribe or answer for the sample learner:
    # its links lead to the "link not valid" page.
    # Signing costs time per email; only a survey CTA needs this link.
    survey_link = PREVIEW_LINK
    if send and content.cta_target == CtaTarget.SURVEY:
        survey_link = links.survey_url(learner_id=learner.pk, send_id=send.pk)
    target = destination(
        content=content,
        context=context,
        learner=learner,
        course=course,
        progress=progress,
        survey_link=survey_link,
    )
    if content.cta_target not in {"mailto", CtaTarget.SURVEY}:
        target = links.with_utm(
            target,
            source=campaign.utm_source,
            campaign=campaign.utm_campaign_value,
            content=utm_content,
        )
    return target, links.click_url(send.pk) if send else target


def _opt_out(
    *, audience: str, learner: Learner, manager: Manager | None, send: Send | None
) -> tuple[str, str]:
    """The one-click opt-out for this recipient (managers have a list of their own)."""
    if audience == Audience.MANAGER and manager is not None:
        url = links.manager_optout_url(manager_id=manager.pk) if send else PREVIEW_LINK
        return url, "Stop nudges about your team"
    url = links.unsubscribe_url(learner_id=learner.pk, send_id=send.pk) if send else PREVIEW_LINK
    return url, "Unsubscribe from these reminders"


def _preferences(
    *, audience: str, learner: Learner, manager: Manager | None, send: Send | None
) -> tuple[str, str]:
    """The recipient's preference centre and its label (a manager's covers pausing only)."""
    if audience == Audience.MANAGER and manager is not None:
        url = links.manager_preferences_url(manager_id=manager.pk) if send else PREVIEW_LINK
        return url, "Pause these messages"
    url = links.preferences_url(learner_id=learner.pk) if send else PREVIEW_LINK
    return url, "Pause or get fewer reminders"


def _headers(*, opt_out: str, campaign: Campaign, send: Send | None) -> dict[str, str]:
    """RFC 8058 one-click unsubscribe, and a deterministic Message-ID for a real send."""
    headers = {
        "List-Unsubscribe": f"<{opt_out}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
    if settings.UNSUBSCRIBE_MAILTO:
        headers["List-Unsubscribe"] += f", <mailto:{settings.UNSUBSCRIBE_MAILTO}>"
    if send is not None:
        headers["Message-ID"] = f"<send-{send.pk}.{campaign.slug}@{_message_domain()}>"
    return headers


def utm_content_for(step: Step | None, variant: Variant | None, kind: str) -> str:
    if step is None:
        return kind
    return f"step{step.position}" + (f"-{variant.label}" if variant else "")


def render_send(send: Send, *, progress: CourseProgress | None, now: dt.datetime) -> RenderedEmail:
    """The email for one outbox row. The caller loads related rows in bulk (see delivery)."""
    enrollment = send.enrollment
    learner = send.learner
    if send.kind == Send.Kind.STEP:
        assert send.step is not None
        content = step_content(send.step, send.variant, audience=send.audience)
    elif send.kind == Send.Kind.WELCOME_BACK:
        content = welcome_back_content(send.campaign)
    else:
        content = handoff_content()
    return render(
        content=content,
        campaign=send.campaign,
        audience=send.audience,
        learner=learner,
        manager=send.manager or learner.manager,
        course=enrollment.course,
        progress=progress,
        now=now,
        send=send,
        utm_content=utm_content_for(send.step, send.variant, send.kind),
        to=send.to_email,
    )


def render_preview(
    *,
    step: Step,
    variant: Variant | None,
    audience: str,
    learner: Learner,
    now: dt.datetime,
    to: str = "",
) -> RenderedEmail:
    """A step as ``learner`` (or their manager) would get it, without tracking: for the admin's
    preview and "send a test to me"."""
    progress = (
        CourseProgress.objects.filter(learner=learner, percent_complete__lt=100)
        .select_related("course")
        .order_by("-updated_at")
        .first()
    )
    course = progress.course if progress else None
    manager = learner.manager
    return render(
        content=step_content(step, variant, audience=audience),
        campaign=step.campaign,
        audience=audience,
        learner=learner,
        manager=manager,
        course=course,
        progress=progress,
        now=now,
        send=None,
        utm_content=utm_content_for(step, variant, Send.Kind.STEP),
        to=to or (manager.email if audience == Audience.MANAGER and manager else learner.email),
    )


@dataclass(frozen=True)
class DigestReport:
    """One report in a manager's digest: their enrollment (learner, course and campaign
    loaded), where they are in the course, and what the campaign has sent them."""

    enrollment: Enrollment
    progress: CourseProgress | None
    sent: int
    last_sent_at: dt.datetime | None


@functools.lru_cache(maxsize=8)
def _project_template(name: str) -> str:
    """The source of one of the project's email templates, for the locked engine."""
    return str(get_template(name).template.source)  # type: ignore[attr-defined]


def _day(moment: dt.datetime, tz_name: str) -> str:
    local = moment.astimezone(zoneinfo.ZoneInfo(tz_name))
    return f"{local:%A} {local.day} {local:%B}"


def _team_change(rate: float | None, previous: float | None) -> str:
    if rate is None or previous is None:
        return ""
    points = round(rate - previous)
    if points == 0:
        return "no change since last week"
    word = "up" if points > 0 else "down"
    return f"{word} {abs(points)} point{'s' if abs(points) != 1 else ''} since last week"


def _digest_row(
    report: DigestReport, *, digest: ManagerDigest, zone: str, now: dt.datetime
) -> dict[str, str | int]:
    enrollment, progress = report.enrollment, report.progress
    learner, course = enrollment.learner, enrollment.course
    returned = enrollment.status == Enrollment.Status.REACTIVATED
    context = template_context(
        learner=learner,
        manager=digest.manager,
        course=course,
        progress=progress,
        campaign=enrollment.campaign,
        incentive=None,
        now=now,
    )
    script = wording.RETURNED_SCRIPT if returned else wording.HANDOFF_SCRIPT
    mailto = destination(
        content=Content(
            subject="",
            preheader="",
            body="",
            cta_label="",
            cta_target="mailto",
            manager_script=script,
        ),
        context=context,
        learner=learner,
        course=course,
        progress=progress,
        survey_link=PREVIEW_LINK,
    )
    if returned and enrollment.reactivated_at is not None:
        status = f"came back on {_day(enrollment.reactivated_at, zone)}"
    else:
        status = f"in {enrollment.campaign.name}"
    inactive: str | int = "no activity yet"
    if learner.last_active_at is not None:
        inactive = max((now - learner.last_active_at).days, 0)
    sent = "nothing yet"
    if report.sent and report.last_sent_at is not None:
        emails = "1 email" if report.sent == 1 else f"{report.sent} emails"
        sent = f"{emails}, the last on {_day(report.last_sent_at, zone)}"
    return {
        "name": str(context["full_name"]),
        "status": status,
        "course": course.title if course else "not known",
        # No module completed yet: they paused at the start; no progress row: not known.
        "paused_at": (progress.last_module or "the start") if progress else "not known",
        "days_inactive": inactive,
        "percent": round(progress.percent_complete) if progress else 0,
        "sent": sent,
        "mailto": mailto,
        "check_in_url": links.check_in_url(digest_id=digest.pk, learner_id=learner.pk),
    }


@dataclass(frozen=True)
class DigestContent:
    """What a weekly digest says, whatever carries it: the values around the table (the
    subject among them) and one row per report."""

    values: dict[str, str | int]
    rows: list[dict[str, str | int]]


def digest_content(
    *,
    digest: ManagerDigest,
    reports: Sequence[DigestReport],
    config: DigestSettings,
    now: dt.datetime,
) -> DigestContent:
    """The weekly team digest to one manager: the team's completion rate and its change since
    last week above their reports, each with a ready-to-send note (the one-line script) and
    "I've talked to them". The subject is rendered by the locked engine from the project's
    template ``emails/digest-subject.txt``, with line breaks stripped."""
    manager = digest.manager
    zone = manager.time_zone or settings.MANAGER_DEFAULT_TIME_ZONE
    rows = [_digest_row(report, digest=digest, zone=zone, now=now) for report in reports]
    returned = sum(1 for r in reports if r.enrollment.status == Enrollment.Status.REACTIVATED)
    rate = digest.team_completion_rate
    values: dict[str, str | int] = {
        "manager_first_name": manager.name.split(" ")[0] if manager.name else "",
        "report_count": len(rows) - returned,
        "returned_count": returned,
        "team_rate": f"{round(rate)}%" if rate is not None else "not known yet",
        "team_change": _team_change(rate, digest.previous_completion_rate),
        "pause_days": config.pause_days,
        "sender_name": config.from_name or "The Learning Team",
        "postal_address": config.postal_address,
        "unsubscribe_url": links.digest_optout_url(manager_id=manager.pk),
    }
    subject = templating.render_subject(_project_template("emails/digest-subject.txt"), values)
    values["subject"] = subject
    return DigestContent(values=values, rows=rows)


def render_digest(
    *,
    digest: ManagerDigest,
    content: DigestContent,
    config: DigestSettings,
) -> RenderedEmail:
    """The digest as an email, rendered by the locked engine from the project's templates
    ``emails/digest-body.txt`` and ``-body.html``; learners' names are escaped in the HTML
    part."""
    values, rows = content.values, content.rows
    subject, opt_out = str(values["subject"]), str(values["unsubscribe_url"])
    text = templating.render_with_rows(
        _project_template("emails/digest-body.txt"), values, rows, html=False
    )
    html_values = {**values, "postal_address": ", ".join(config.postal_address.splitlines())}
    html = templating.render_with_rows(
        _project_template("emails/digest-body.html"), html_values, rows, html=True
    )
    headers = {
        "List-Unsubscribe": f"<{opt_out}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        "Message-ID": f"<digest-{digest.pk}@{_message_domain()}>",
    }
    if settings.UNSUBSCRIBE_MAILTO:
        headers["List-Unsubscribe"] += f", <mailto:{settings.UNSUBSCRIBE_MAILTO}>"
    _, address = parseaddr(settings.DEFAULT_FROM_EMAIL)
    return RenderedEmail(
        subject=subject,
        preheader="",
        text=text.strip() + "\n",
        html=html,
        from_email=formataddr((config.from_name, address))
        if config.from_name
        else (settings.DEFAULT_FROM_EMAIL),
        to=digest.to_email,
        reply_to=[],
        headers=headers,
        destination_url="",
        metadata={"digest_id": str(digest.pk)},
        tags=["digest"],
    )
