"""Pages a learner or manager reaches from an email. Each view checks the signed token and calls
one function in :mod:`campaigns.feedback.subscriptions`."""

from __future__ import annotations

import functools
from collections.abc import Callable

from django import forms
from django.core import signing
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from campaigns.content import links
from campaigns.feedback import subscriptions
from campaigns.models import DigestSettings, Enrollment, ManagerDigest, SurveyResponse
from learners.models import Learner, Manager


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
    try:
        manager = Manager.objects.get(
            pk=links.read_token(token, salt=links.SALT_MANAGER_OPTOUT)["m"]
        )
    except (signing.BadSignature, KeyError, Manager.DoesNotExist):
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
    try:
        manager = Manager.objects.get(
            pk=links.read_token(token, salt=links.SALT_DIGEST_OPTOUT)["m"]
        )
    except (signing.BadSignature, KeyError, Manager.DoesNotExist):
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


class SurveyForm(forms.Form):
    reason = forms.ChoiceField(
        choices=SurveyResponse.Reason.choices,
        widget=forms.RadioSelect,
        label="Why did you stop?",
    )
    comment = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        label="Anything else? (optional)",
    )


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
    form = SurveyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        subscriptions.record_survey_answer(
            learner_id=learner.pk,
            send_id=value.get("s"),
            reason=form.cleaned_data["reason"],
            comment=form.cleaned_data["comment"],
            now=timezone.now(),
        )
        return render(request, "pages/survey-thanks.html", {"first_name": learner.first_name})
    return render(request, "pages/survey.html", {"form": form, "first_name": learner.first_name})
