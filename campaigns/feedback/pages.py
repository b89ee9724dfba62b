"""Pages a learner or manager reaches from an email. Each view checks the signed token and calls
one function in :mod:`campaigns.feedback.subscriptions`."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from urllib.parse import urlsplit

from django import forms
from django.core import signing
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from campaigns.content import emails, links
from campaigns.delivery.digests import reports_for as digest_reports
from campaigns.feedback import subscriptions
from campaigns.models import DigestSettings, Enrollment, ManagerDigest, SurveyReason
from learners.models import ContactChannel, Learner, Manager


class _Redirect(HttpResponseRedirect):
    # A manager's CTA opens a ready-to-send email to their report.
    allowed_schemes = ["http", "https", "mailto"]


# The pages load nothing but their own stylesheet and post only to themselves; nothing may frame
# them. A page that names a learner's address must not stay in a shared or browser cache.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)

View = Callable[..., HttpResponse]


def private_page(view: View) -> View:
    """Answer with ``Cache-Control: no-store`` (and friends) and the pages' CSP."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        response = view(request, *args, **kwargs)
        add_never_cache_headers(response)
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        return response

    return wrapper


def _invalid(request: HttpRequest) -> HttpResponse:
    return render(request, "pages/invalid-link.html", status=404)


def _manager_of(token: str, *, salt: str) -> Manager | None:
    """The manager a link of this purpose names (None for a forged, foreign or stale one)."""
    try:
        return Manager.objects.get(pk=links.read_token(token, salt=salt)["m"])
    except (signing.BadSignature, KeyError, Manager.DoesNotExist):
        return None


@require_http_methods(["GET", "HEAD"])
@private_page
def click(request: HttpRequest, token: str) -> HttpResponse:
    try:
        send_id = links.read_token(token, salt=links.SALT_CLICK)["s"]
    except (signing.BadSignature, KeyError):
        return _invalid(request)
    destination = subscriptions.record_click(
        send_id=send_id,
        now=timezone.now(),
        method=request.method or "GET",
        user_agent=request.headers.get("User-Agent", ""),
    )
    if not destination:
        return _invalid(request)
    return _Redirect(destination)


# RFC 8058: the one-click POST carries no cookie and no CSRF token. A GET only asks, because
# mail scanners follow links.
@csrf_exempt
@require_http_methods(["GET", "HEAD", "POST"])
@private_page
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    try:
        value = links.read_token(token, salt=links.SALT_UNSUBSCRIBE)
        learner = Learner.objects.get(pk=value["l"])
    except (signing.BadSignature, KeyError, Learner.DoesNotExist):
        return _invalid(request)
    if request.method == "POST":
        subscriptions.unsubscribe_learner(
            learner_id=learner.pk, send_id=value.get("s"), now=timezone.now()
        )
        return render(request, "pages/unsubscribed.html", {"email": learner.email})
    return render(
        request,
        "pages/unsubscribe-confirm.html",
        {"email": learner.email, "already": learner.unsubscribed_at is not None},
    )


@csrf_exempt
@require_http_methods(["GET", "HEAD", "POST"])
@private_page
def manager_optout(request: HttpRequest, token: str) -> HttpResponse:
    manager = _manager_of(token, salt=links.SALT_MANAGER_OPTOUT)
    if manager is None:
        return _invalid(request)
    if request.method == "POST":
        subscriptions.opt_out_manager(manager_id=manager.pk, now=timezone.now())
        return render(request, "pages/manager-opted-out.html", {"email": manager.email})
    return render(
        request,
        "pages/manager-optout-confirm.html",
        {"email": manager.email, "already": manager.nudges_opted_out_at is not None},
    )


@csrf_exempt
@require_http_methods(["GET", "HEAD", "POST"])
@private_page
def digest_optout(request: HttpRequest, token: str) -> HttpResponse:
    manager = _manager_of(token, salt=links.SALT_DIGEST_OPTOUT)
    if manager is None:
        return _invalid(request)
    if request.method == "POST":
        subscriptions.opt_out_manager_digests(manager_id=manager.pk, now=timezone.now())
        return render(request, "pages/digest-opted-out.html", {"email": manager.email})
    return render(
        request,
        "pages/digest-optout-confirm.html",
        {"email": manager.email, "already": manager.digests_opted_out_at is not None},
    )


# The token names the digest and the report: only the manager it was sent to holds it, and
# only while the learner is still their report. A GET only asks (scanners follow links).
@csrf_exempt
@require_http_methods(["GET", "HEAD", "POST"])
@private_page
def check_in(request: HttpRequest, token: str) -> HttpResponse:
    try:
        value = links.read_token(token, salt=links.SALT_CHECK_IN)
        digest = ManagerDigest.objects.select_related("manager").get(pk=value["d"])
        learner = Learner.objects.get(pk=value["l"], manager_id=digest.manager_id)
    except (signing.BadSignature, KeyError, ManagerDigest.DoesNotExist, Learner.DoesNotExist):
        return _invalid(request)
    name = learner.full_name or learner.email
    # A report who came back gets no reminders to pause: the page says so.
    in_campaign = learner.enrollments.filter(status=Enrollment.Status.ACTIVE).exists()
    if request.method == "POST":
        done = subscriptions.check_in_report(digest=digest, learner=learner, now=timezone.now())
        return render(
            request,
            "pages/check-in-done.html",
            {"name": name, "paused_until": done.paused_until, "in_campaign": in_campaign},
        )
    return render(
        request,
        "pages/check-in-confirm.html",
        {"name": name, "days": DigestSettings.current().pause_days, "in_campaign": in_campaign},
    )


@require_http_methods(["GET", "HEAD"])
@private_page
def digest_page(request: HttpRequest, token: str) -> HttpResponse:
    """The weekly digest as a page, where a text message links: the team's table as it stands
    now, with both actions of that digest."""
    try:
        value = links.read_token(token, salt=links.SALT_DIGEST_PAGE)
        digest = ManagerDigest.objects.select_related("manager").get(pk=value["d"])
    except (signing.BadSignature, KeyError, ManagerDigest.DoesNotExist):
        return _invalid(request)
    now = timezone.now()
    reports = digest_reports([digest], now).get(digest.manager_id, [])
    content = emails.digest_content(
        digest=digest, reports=reports, config=DigestSettings.current(), now=now
    )
    rows = [{**row, "check_in_path": _path(str(row["check_in_url"]))} for row in content.rows]
    optout = _path(links.digest_optout_url(manager_id=digest.manager_id))
    return render(
        request,
        "pages/digest.html",
        {"values": content.values, "rows": rows, "week_of": digest.week_of, "optout_path": optout},
    )


class SurveyForm(forms.Form):
    """The answer is the button clicked: the email's link and one click on a reason."""

    reason = forms.ChoiceField(label="Why did you stop?")
    comment = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        label="Anything else? (optional, before you click your answer)",
    )

    def __init__(self, *args: object, reasons: list[SurveyReason], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.reasons = reasons
        self.fields["reason"].choices = [(r.code, r.label) for r in reasons]  # type: ignore[attr-defined]


# The survey is reached from an email link; the token, not a cookie, says who is answering.
@csrf_exempt
@require_http_methods(["GET", "HEAD", "POST"])
@private_page
def survey(request: HttpRequest, token: str) -> HttpResponse:
    try:
        value = links.read_token(token, salt=links.SALT_SURVEY)
        learner = Learner.objects.get(pk=value["l"])
    except (signing.BadSignature, KeyError, Learner.DoesNotExist):
        return _invalid(request)
    reasons = list(SurveyReason.objects.filter(is_active=True))
    form = SurveyForm(request.POST or None, reasons=reasons)
    if request.method == "POST" and form.is_valid():
        subscriptions.record_survey_answer(
            learner_id=learner.pk,
            send_id=value.get("s"),
            reason=form.cleaned_data["reason"],
            comment=form.cleaned_data["comment"],
            now=timezone.now(),
        )
        return render(request, "pages/survey-thanks.html", {"first_name": learner.first_name})
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "pages/survey.html",
        {"form": form, "first_name": learner.first_name},
        status=status,
    )


PAUSE_WEEKS = (2, 4)
PERSONAL_CAPS = (1, 2)


class PreferencesForm(forms.Form):
    """What a learner may choose; ``keep`` leaves a running pause as it is."""

    # "Don't pause" is the empty choice: not choosing a pause is a valid answer.
    pause = forms.ChoiceField(widget=forms.RadioSelect, label="Pause reminders", required=False)
    weekly_cap = forms.ChoiceField(
        widget=forms.RadioSelect,
        label="How many emails",
        required=False,
        choices=[("", "As many as the campaign sends")]
        + [(str(n), f"At most {n} email{'' if n == 1 else 's'} a week") for n in PERSONAL_CAPS],
    )
    channels = forms.MultipleChoiceField(
        widget=forms.CheckboxSelectMultiple,
        label="How to reach me",
        required=False,
        help_text="With none chosen you get no reminders, but stay subscribed.",
    )

    def __init__(
        self,
        *args: object,
        learner: Learner,
        channels: dict[str, bool],
        now: dt.datetime,
        **kwargs: object,
    ) -> None:
        paused = learner.reminders_paused_until
        initial = {
            "pause": "keep" if paused and paused > now else "",
            "weekly_cap": str(learner.weekly_cap or ""),
            "channels": [c for c, on in channels.items() if on],
        }
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.initial.update(initial)
        pause_choices = [("", "Resume now" if initial["pause"] else "Don't pause")]
        if initial["pause"] and paused is not None:
            pause_choices.insert(0, ("keep", f"Keep the pause until {paused:%A %-d %B}"))
        pause_choices += [(str(w), f"Pause for {w} weeks") for w in PAUSE_WEEKS]
        self.fields["pause"].choices = pause_choices  # type: ignore[attr-defined]
        self.fields["channels"].choices = [  # type: ignore[attr-defined]
            (c, ContactChannel(c).label) for c in channels
        ]

    def choices(self) -> subscriptions.LearnerChoices:
        pause = self.cleaned_data["pause"]
        offered = [code for code, _ in self.fields["channels"].choices]  # type: ignore[attr-defined]
        return subscriptions.LearnerChoices(
            pause_weeks=None if pause == "keep" else int(pause or 0),
            weekly_cap=int(self.cleaned_data["weekly_cap"] or 0) or None,
            channels={code: code in self.cleaned_data["channels"] for code in offered},
        )


# A page the person sees and submits: the form carries a CSRF token (no one-click here), and a
# GET only shows the choices, because link scanners follow every link in an email.
@require_http_methods(["GET", "HEAD", "POST"])
@private_page
def preferences(request: HttpRequest, token: str) -> HttpResponse:
    try:
        learner = Learner.objects.get(pk=links.read_token(token, salt=links.SALT_PREFERENCES)["l"])
    except (signing.BadSignature, KeyError, Learner.DoesNotExist):
        return _invalid(request)
    now = timezone.now()
    channels = subscriptions.learner_channels(learner=learner)
    form = PreferencesForm(request.POST or None, learner=learner, channels=channels, now=now)
    saved = False
    status = 200
    if request.method == "POST":
        if form.is_valid():
            subscriptions.save_learner_choices(
                learner_id=learner.pk, choices=form.choices(), now=now
            )
            learner.refresh_from_db()
            channels = subscriptions.learner_channels(learner=learner)
            form = PreferencesForm(learner=learner, channels=channels, now=now)
            saved = True
        else:
            status = 400
    unsubscribe = links.unsubscribe_url(learner_id=learner.pk, send_id=None)
    return render(
        request,
        "pages/preferences.html",
        {
            "form": form,
            "saved": saved,
            "learner": learner,
            "paused_until": learner.reminders_paused_until
            if learner.reminders_paused_until and learner.reminders_paused_until > now
            else None,
            "unsubscribe_path": _path(unsubscribe),
        },
        status=status,
    )


class ManagerPreferencesForm(forms.Form):
    pause = forms.ChoiceField(widget=forms.RadioSelect, label="Pause messages about your team")

    def __init__(self, *args: object, manager: Manager, now: dt.datetime, **kwargs: object) -> None:
        paused = manager.messages_paused_until
        running = bool(paused and paused > now)
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.initial["pause"] = "keep" if running else ""
        choices = [("", "Resume now" if running else "Don't pause")]
        if running and paused is not None:
            choices.insert(0, ("keep", f"Keep the pause until {paused:%A %-d %B}"))
        choices += [(str(w), f"Pause for {w} weeks") for w in PAUSE_WEEKS]
        self.fields["pause"].choices = choices  # type: ignore[attr-defined]

    def pause_weeks(self) -> int | None:
        pause = self.cleaned_data["pause"]
        return None if pause == "keep" else int(pause or 0)


@require_http_methods(["GET", "HEAD", "POST"])
@private_page
def manager_preferences(request: HttpRequest, token: str) -> HttpResponse:
    manager = _manager_of(token, salt=links.SALT_MANAGER_PREFERENCES)
    if manager is None:
        return _invalid(request)
    now = timezone.now()
    form = ManagerPreferencesForm(request.POST or None, manager=manager, now=now)
    saved, status = False, 200
    if request.method == "POST":
        if form.is_valid():
            subscriptions.save_manager_pause(
                manager_id=manager.pk, pause_weeks=form.pause_weeks(), now=now
            )
            manager.refresh_from_db()
            form = ManagerPreferencesForm(manager=manager, now=now)
            saved = True
        else:
            status = 400
    paused = manager.messages_paused_until
    return render(
        request,
        "pages/manager-preferences.html",
        {
            "form": form,
            "saved": saved,
            "manager": manager,
            "paused_until": paused if paused and paused > now else None,
            "optout_path": _path(links.manager_optout_url(manager_id=manager.pk)),
        },
        status=status,
    )


def _path(url: str) -> str:
    """A link of ours as a path: the page's forms post only to this site (CSP form-action)."""
    return urlsplit(url).path
