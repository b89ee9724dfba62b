"""Admin forms: every field staff write as a template is checked when they save.

A template that does not parse, names an unknown variable, or tries to reach beyond the flat
dict of values (``{% load %}``, ``|safe``, ``first_name.__class__`` …) is refused with the
engine's message attached to the field it came from, so nothing unsafe is ever stored.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from campaigns.building import checks
from campaigns.content import sms, templating
from campaigns.models import (
    Audience,
    Campaign,
    Channel,
    CtaTarget,
    Incentive,
    Segment,
    Step,
    SurveyReason,
    Variant,
)
from learners.models import Course
from reengagement.url_fields import https_url_fields

# ModelForm is generic only in django-stubs (subscripting it at runtime would need
# django_stubs_ext), hence the type-arg ignores on the classes below.
WEEKDAYS = [
    ("0", "Monday"),
    ("1", "Tuesday"),
    ("2", "Wednesday"),
    ("3", "Thursday"),
    ("4", "Friday"),
    ("5", "Saturday"),
    ("6", "Sunday"),
]


def check_templates(form: forms.ModelForm[Any], fields: tuple[str, ...]) -> None:
    """Attach the engine's complaint about each template field to that field."""
    for name in fields:
        source = form.cleaned_data.get(name)
        if not source or name not in form.fields:
            continue
        label = str(form.fields[name].label or name)
        try:
            templating.validate_template(source, field=label)
        except ValidationError as exc:
            form.add_error(name, exc)


# What the editor says under every body: the copy is plain text, nothing else is formatted.
BODY_HELP = (
    "Plain text. A blank line starts a new paragraph and a single line break stays a line "
    "break; nothing else is formatted. Everything shows exactly as typed, <, > and & included, "
    "so HTML and Markdown appear as written. Links cannot be typed: the button below the text "
    "is the email's one link."
)


def check_cta_url(form: forms.ModelForm[Any]) -> None:
    """Refuse a CTA URL that a browser would not follow from our redirect."""
    url = form.cleaned_data.get("cta_url") or ""
    problem = checks.cta_url_problem(url)
    if problem:
        form.add_error("cta_url", f"The CTA URL {problem}.")


def check_headers(form: forms.BaseForm, fields: tuple[str, ...]) -> None:
    """Refuse line breaks in what goes into a header: sender name, address and reply-to."""
    for name in fields:
        value = form.cleaned_data.get(name) or ""
        problem = checks.header_problem(value)
        if problem:
            label = str(form.fields[name].label or name)
            form.add_error(name, f"{label} {problem}.")


def check_no_links(form: forms.BaseForm, fields: tuple[str, ...]) -> None:
    """Refuse a typed link in staff text that reaches emails as it is."""
    for name in fields:
        problem = checks.link_problem(form.cleaned_data.get(name) or "")
        if problem:
            label = str(form.fields[name].label or name)
            form.add_error(name, f"{label} {problem}.")


def _check_cta_url(form: forms.ModelForm[Any]) -> None:
    check_cta_url(form)
    if form.cleaned_data.get("cta_target") == CtaTarget.URL and not form.cleaned_data.get(
        "cta_url"
    ):
        form.add_error("cta_url", "Enter the URL the button leads to.")


class StepForm(forms.ModelForm):  # type: ignore[type-arg]
    template_fields = (
        "subject",
        "preheader",
        "body",
        "cta_label",
        "manager_subject",
        "manager_body",
        "manager_script",
    )

    class Meta:
        model = Step
        formfield_callback = https_url_fields
        fields = [
            "campaign",
            "position",
            "name",
            "delay_days",
            "delay_hours",
            "audience",
            "subject",
            "preheader",
            "body",
            "cta_label",
            "cta_target",
            "cta_url",
            "incentive",
            "manager_subject",
            "manager_body",
            "manager_script",
            "channel",
            "sms_body",
            "manager_sms_body",
        ]
        widgets = {
            "sms_body": forms.Textarea(attrs={"rows": 3, "cols": 70}),
            "manager_sms_body": forms.Textarea(attrs={"rows": 3, "cols": 70}),
            "body": forms.Textarea(attrs={"rows": 7, "cols": 70}),
            "manager_body": forms.Textarea(attrs={"rows": 5, "cols": 70}),
        }
        help_texts = {"body": BODY_HELP, "manager_body": BODY_HELP}

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        check_templates(self, self.template_fields)
        _check_cta_url(self)
        _check_channel(self)
        return cleaned


def _check_channel(form: forms.ModelForm) -> None:  # type: ignore[type-arg]
    """A step's channel must reach its audience, and a text message must fit (the launch
    check says whether the channel is set up on this installation)."""
    channel = form.cleaned_data.get("channel") or Channel.EMAIL
    audience = form.cleaned_data.get("audience") or Audience.LEARNER
    if audience not in checks.CHANNEL_AUDIENCES[Channel(channel)]:
        form.add_error(
            "channel",
            f"{Channel(channel).label} cannot reach the {Audience(audience).label.lower()}.",
        )
    if channel != Channel.SMS:
        return
    texts = []
    if audience in (Audience.LEARNER, Audience.BOTH):
        texts.append(("sms_body", False))
    if audience in (Audience.MANAGER, Audience.BOTH):
        texts.append(("manager_sms_body", True))
    for name, to_manager in texts:
        # The campaign page's step rows have no text field: the step's own page has it.
        field = name if name in form.fields else "channel"
        source = form.cleaned_data.get(name, getattr(form.instance, name))
        problem = sms.sms_problem(source or "", to_manager=to_manager)
        if problem:
            form.add_error(field, f"{problem[0].upper()}{problem[1:]}.")


class VariantForm(forms.ModelForm):  # type: ignore[type-arg]
    template_fields = ("subject", "preheader", "body", "cta_label")

    class Meta:
        model = Variant
        formfield_callback = https_url_fields
        fields = [
            "step",
            "label",
            "weight",
            "subject",
            "preheader",
            "body",
            "cta_label",
            "cta_target",
            "cta_url",
            "delay_days",
            "delay_hours",
        ]
        widgets = {"body": forms.Textarea(attrs={"rows": 4, "cols": 50})}
        help_texts = {"body": BODY_HELP}

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        check_templates(self, self.template_fields)
        check_cta_url(self)
        # A variant's empty target falls back to the step's, which may be a URL already.
        if cleaned.get("cta_target") == CtaTarget.URL and not cleaned.get("cta_url"):
            step = cleaned.get("step") or getattr(self.instance, "step", None)
            if not (step and step.cta_url):
                self.add_error("cta_url", "Enter the URL the button leads to.")
        return cleaned


class CampaignForm(forms.ModelForm):  # type: ignore[type-arg]
    template_fields = ("welcome_back_subject", "welcome_back_body")

    sending_weekdays = forms.MultipleChoiceField(
        choices=WEEKDAYS,
        widget=forms.CheckboxSelectMultiple,
        help_text="Days mail may go out, in each learner's own time zone.",
    )

    class Meta:
        model = Campaign
        fields = [
            "name",
            "slug",
            "description",
            "segment",
            "priority",
            "goal_window_days",
            "goal_activity_kinds",
            "survey_answer_counts",
            "holdout_percent",
            "quiet_hours_start",
            "quiet_hours_end",
            "sending_weekdays",
            "weekly_cap",
            "sunset_after_days",
            "welcome_back_enabled",
            "welcome_back_subject",
            "welcome_back_body",
            "welcome_back_incentive",
            "utm_source",
            "utm_campaign",
            "from_name",
            "from_email",
            "reply_to",
            "postal_address",
        ]
        widgets = {
            "welcome_back_body": forms.Textarea(attrs={"rows": 5, "cols": 70}),
            "postal_address": forms.Textarea(attrs={"rows": 3, "cols": 50}),
            "description": forms.Textarea(attrs={"rows": 2, "cols": 70}),
        }
        help_texts = {"welcome_back_body": BODY_HELP}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk or self.instance.sending_weekdays:
            self.initial["sending_weekdays"] = [str(d) for d in self.instance.weekday_list]

    def clean_sending_weekdays(self) -> str:
        return ",".join(sorted(self.cleaned_data["sending_weekdays"]))

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        check_templates(self, self.template_fields)
        check_headers(self, ("from_name", "from_email", "reply_to"))
        check_no_links(self, ("postal_address",))
        return cleaned


class SegmentForm(forms.ModelForm):  # type: ignore[type-arg]
    course_types = forms.MultipleChoiceField(
        choices=Course.CourseType.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Learners with an unfinished course of one of these types; none ticked for any.",
    )
    answered = forms.MultipleChoiceField(
        choices=[],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Answered “why did you stop?”",
        help_text="Learners who gave one of these answers (at any time); none ticked for anyone.",
    )

    class Meta:
        model = Segment
        fields = [
            "name",
            "description",
            "min_inactive_days",
            "max_inactive_days",
            "roles",
            "teams",
            "course_types",
            "min_completion_rate",
            "max_completion_rate",
            "has_manager",
            "answered",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.initial["course_types"] = self.instance.course_type_list
        self.initial["answered"] = self.instance.answered_list
        # Every answer staff ever offered (one withdrawn may still be a good follow-up), and
        # any code the segment names that is no longer in the list, so saving keeps it.
        reasons = [(r.code, r.label) for r in SurveyReason.objects.all()]
        known = {code for code, _ in reasons}
        reasons += [(c, c) for c in self.instance.answered_list if c not in known]
        self.fields["answered"].choices = reasons  # type: ignore[attr-defined]

    def clean_course_types(self) -> str:
        return ",".join(self.cleaned_data["course_types"])

    def clean_answered(self) -> str:
        return ",".join(self.cleaned_data["answered"])

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        low, high = cleaned.get("min_inactive_days"), cleaned.get("max_inactive_days")
        if low is not None and high is not None and low > high:
            self.add_error("max_inactive_days", "Must be at least the minimum.")
        low, high = cleaned.get("min_completion_rate"), cleaned.get("max_completion_rate")
        if low is not None and high is not None and low > high:
            self.add_error("max_completion_rate", "Must be at least the minimum.")
        return cleaned


class BlueprintForm(forms.Form):
    """What staff choose when they start a campaign from the blueprint."""

    name = forms.CharField(max_length=200, initial="Win back inactive learners")
    segment = forms.ModelChoiceField(queryset=Segment.objects.all())
    compressed = forms.BooleanField(
        required=False,
        label="Compressed timing for a high-risk segment",
        help_text="The same six emails over days 0–7 instead of 0–21: for compliance or "
        "customer-facing roles, where three weeks is too slow.",
    )
    from_name = forms.CharField(max_length=100, initial="The Learning Team", label="From name")
    from_email = forms.EmailField(label="From email")
    postal_address = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 50}),
        help_text="Shown in every email's footer; the law asks for it.",
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        check_headers(self, ("from_name", "from_email"))
        check_no_links(self, ("postal_address",))
        return cleaned


class IncentiveForm(forms.ModelForm):  # type: ignore[type-arg]
    """An incentive's text goes into emails as it is typed, so it may not carry a link."""

    class Meta:
        model = Incentive
        fields = ["kind", "title", "description", "value", "expires_in_days"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        check_no_links(self, ("title", "description", "value"))
        return cleaned


class PreviewForm(forms.Form):
    """Who to preview a step for: a chosen learner, or a random one from the segment."""

    variant = forms.ModelChoiceField(
        queryset=Variant.objects.none(), required=False, empty_label="The step's own copy"
    )
    audience = forms.ChoiceField(choices=[("learner", "Learner"), ("manager", "Manager")])
    learner = forms.CharField(
        required=False,
        label="Learner",
        help_text="Email, LMS id or number; empty for a random learner from the segment.",
    )

    def __init__(self, *args: Any, step: Step, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        variant_field = self.fields["variant"]
        assert isinstance(variant_field, forms.ModelChoiceField)
        variant_field.queryset = step.variants.all()
