"""The Celery app. Workers and beat start with ``celery -A reengagement worker|beat``."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reengagement.settings")

app = Celery("reengagement")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
