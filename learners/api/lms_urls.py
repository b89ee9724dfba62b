"""Where LMSs send activity in their own standards (mounted at the site root)."""

from django.urls import URLPattern, URLResolver, re_path

from learners.api import xapi

urlpatterns: list[URLPattern | URLResolver] = [
    # LRS clients append "/statements" to the endpoint they are given, with or without a slash.
    re_path(r"^xapi/statements/?$", xapi.statements, name="xapi-statements"),
    re_path(r"^xapi/about/?$", xapi.about, name="xapi-about"),
]
