"""The periodic task that runs the evaluation pass: a row staff can see and change in the admin."""

from django.apps.registry import Apps
from django.conf import settings
from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor

TASK_NAME = "Evaluate campaigns"


def create_schedule(apps: Apps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every = settings.PASS_INTERVAL_MINUTES
    schedule, _ = IntervalSchedule.objects.get_or_create(every=every, period="minutes")
    PeriodicTask.objects.get_or_create(
        name=TASK_NAME,
        defaults={
            "task": "campaigns.tasks.run_pass",
            "interval": schedule,
            "description": "Enrolls segment members, ends enrollments of learners who came back, "
            "creates the sends that are due and hands them to delivery.",
        },
    )


def drop_schedule(apps: Apps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=TASK_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0002_roles"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [migrations.RunPython(create_schedule, drop_schedule)]
