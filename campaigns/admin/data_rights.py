"""A learner's data rights in the admin: export as JSON, erase after a confirmation page, and
the log of erasures. Only staff with ``learners.manage_learner_data`` see or use them."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone

from campaigns.admin.outbox import ReadOnlyAdmin
from campaigns.data_rights.erase import erase_subject
from campaigns.data_rights.export import export_json, export_subject
from campaigns.data_rights.subjects import subject_of
from learners.models import Erasure, Learner

PERMISSION = "learners.manage_learner_data"


@admin.register(Erasure)
class ErasureAdmin(ReadOnlyAdmin):
    list_display = ["erased_at", "erased_by_username", "lms_id", "learner_pk", "manager_pk"]
    search_fields = ["lms_id", "erased_by_username"]
    date_hierarchy = "erased_at"
    exclude = ["erased_by"]

    def has_view_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return request.user.has_perm(PERMISSION) or super().has_view_permission(request, obj)

    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        return [
            path(
                "learner/<int:pk>/export/",
                wrap(self.export_view),
                name="learners_learner_data_export",
            ),
            path(
                "learner/<int:pk>/erase/",
                wrap(self.erase_view),
                name="learners_learner_data_erase",
            ),
            *super().get_urls(),
        ]

    def _learner(self, request: HttpRequest, pk: int) -> Learner:
        if not request.user.has_perm(PERMISSION):
            raise PermissionDenied
        return get_object_or_404(Learner, pk=pk, erased_at__isnull=True)

    def export_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        learner = self._learner(request, pk)
        text = export_json(subject=subject_of(learner=learner), now=timezone.now())
        response = HttpResponse(text, content_type="application/json; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="learner-{learner.pk}.json"'
        return response

    def erase_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        learner = self._learner(request, pk)
        subject = subject_of(learner=learner)
        if request.method == "POST":
            try:
                erasure = erase_subject(subject=subject, user=request.user, now=timezone.now())
            except ValidationError as exc:
                self.message_user(request, " ".join(exc.messages), messages.ERROR)
            else:
                self.message_user(
                    request,
                    f"The learner's personal data was erased (LMS id {erasure.lms_id} logged).",
                    messages.SUCCESS,
                )
            return HttpResponseRedirect(reverse("admin:learners_learner_change", args=[pk]))
        tables = export_subject(subject=subject, now=timezone.now())["tables"]
        context = {
            **self.admin_site.each_context(request),
            "title": f"Erase the data of {learner}",
            "learner": learner,
            "counts": [(name, len(rows)) for name, rows in tables.items() if rows],
        }
        return TemplateResponse(request, "admin/learners/learner/erase.html", context)
