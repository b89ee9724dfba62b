"""LMS API tokens: each staff member manages their own, and a key is shown in full only once.

Django REST framework's own token admin lists every key in clear and lets anyone with the add
permission make a token for any user (a superuser's included); it is replaced by this one.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from rest_framework.authtoken.admin import TokenAdmin
from rest_framework.authtoken.models import Token, TokenProxy

from campaigns.models import ApiToken

if admin.site.is_registered(TokenProxy):
    admin.site.unregister(TokenProxy)


@admin.register(ApiToken)
class ApiTokenAdmin(TokenAdmin):
    list_display = ("masked_key", "user", "created")
    list_select_related = ("user",)
    readonly_fields = ("masked_key", "created")

    @admin.display(description="key")
    def masked_key(self, obj: ApiToken) -> str:
        return obj.masked_key

    def get_queryset(self, request: HttpRequest) -> QuerySet[ApiToken]:
        tokens = super().get_queryset(request).select_related("user")
        if getattr(request.user, "is_superuser", False):
            return tokens
        return tokens.filter(user_id=request.user.pk)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is not None:
            return ["user", "masked_key", "created"]
        # Staff other than superusers make a token for themselves only.
        return ["user"] if getattr(request.user, "is_superuser", False) else []

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> type[ModelForm[Any]]:
        form = super().get_form(request, obj, change=change, **kwargs)
        if obj is not None or getattr(request.user, "is_superuser", False):
            return form
        owner = request.user
        owner_pk = int(owner.pk or 0)

        class OwnTokenForm(form):  # type: ignore[misc, valid-type]
            def clean(self) -> dict[str, Any]:
                cleaned: dict[str, Any] = super().clean()
                if Token.objects.filter(user_id=owner_pk).exists():
                    raise ValidationError(
                        "You already have an API token: delete it to make a new one."
                    )
                self.instance.user = owner
                return cleaned

        return OwnTokenForm

    def save_model(self, request: HttpRequest, obj: ApiToken, form: Any, change: bool) -> None:
        if not change and not getattr(request.user, "is_superuser", False):
            obj.user = request.user
        super().save_model(request, obj, form, change)

    def response_add(
        self, request: HttpRequest, obj: ApiToken, post_url_continue: str | None = None
    ) -> HttpResponse:
        """The one page that shows the whole key: there is no way back to it afterwards."""
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "API token created",
            "token": obj,
        }
        return TemplateResponse(request, "admin/campaigns/apitoken/created.html", context)
