"""A URL typed without a scheme means https, in every form and admin page of both apps.

It is Django 6's default, chosen now: Django 5.2 still assumes http and warns. One rule, used
by the admin (``formfield_overrides = HTTPS_URLS``) and by the model forms
(``formfield_callback = https_url_fields``).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.db import models

HTTPS_URLS: dict[type[models.Field[Any, Any]], dict[str, Any]] = {
    models.URLField: {"assume_scheme": "https"}
}


def https_url_fields(db_field: models.Field[Any, Any], **kwargs: Any) -> forms.Field | None:
    """Form fields as Django makes them, with :data:`HTTPS_URLS` applied."""
    for field_class, options in HTTPS_URLS.items():
        if isinstance(db_field, field_class):
            kwargs = {**options, **kwargs}
    return db_field.formfield(**kwargs)
