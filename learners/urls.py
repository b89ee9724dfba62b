"""The activity API and its OpenAPI description (mounted under ``/api/``)."""

from django.urls import URLPattern, URLResolver, path
from drf_spectacular.views import SpectacularAPIView

from learners.api.views import ActivityEventsView

urlpatterns: list[URLPattern | URLResolver] = [
    path("v1/activity/events/", ActivityEventsView.as_view(), name="activity-events"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
]
