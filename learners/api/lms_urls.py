"""Where LMSs send activity in their own standards (mounted at the site root)."""

from django.urls import URLPattern, URLResolver, path, re_path

from learners.api import caliper, moodle, xapi

urlpatterns: list[URLPattern | URLResolver] = [
    # LRS clients append "/statements" to the endpoint they are given, with or without a slash.
    re_path(r"^xapi/statements/?$", xapi.statements, name="xapi-statements"),
    re_path(r"^xapi/about/?$", xapi.about, name="xapi-about"),
    path("lms/caliper/<str:key>", caliper.events, name="caliper-events"),
    path("lms/moodle/events", moodle.events, name="moodle-events"),
]
