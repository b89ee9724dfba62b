"""Staff roles: what each group of people may do in the admin."""

from django.apps.registry import Apps
from django.contrib.auth.management import create_permissions
from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor

BUILDING = ["segment", "campaign", "step", "variant", "incentive"]
RESULTS = ["enrollment", "send", "surveyresponse"]
LEARNER_DATA = ["learner", "manager", "course", "courseprogress", "activityevent"]

ROLES: dict[str, list[tuple[str, str]]] = {
    # Build and edit campaigns; cannot launch them.
    "Campaign editors": [
        (app, f"{action}_{model}")
        for app, models in (("campaigns", BUILDING),)
        for model in models
        for action in ("add", "change", "delete", "view")
    ]
    + [("campaigns", f"view_{m}") for m in RESULTS]
    + [("learners", f"view_{m}") for m in LEARNER_DATA]
    + [("campaigns", "view_results")],
    # Review and launch/pause/archive; read everything else.
    "Campaign approvers": [("campaigns", f"view_{m}") for m in BUILDING + RESULTS]
    + [("learners", f"view_{m}") for m in LEARNER_DATA]
    + [("campaigns", "launch_campaign"), ("campaigns", "view_results")],
    # Read-only.
    "Viewers": [("campaigns", f"view_{m}") for m in BUILDING + RESULTS]
    + [("learners", f"view_{m}") for m in LEARNER_DATA]
    + [("campaigns", "view_results")],
    # Import learners, courses, progress and activity; manage LMS API tokens.
    "Data importers": [
        ("learners", f"{action}_{model}")
        for model in LEARNER_DATA
        for action in ("add", "change", "view")
    ]
    + [("authtoken", f"{action}_tokenproxy") for action in ("add", "delete", "view")],
}


def create_roles(apps: Apps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    # Permissions are normally created after all migrations; roles need them now.
    for config in apps.get_app_configs():
        config.models_module = True  # type: ignore[assignment]
        create_permissions(config, verbosity=0, apps=apps)
        config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codes in ROLES.items():
        group, _ = Group.objects.get_or_create(name=name)
        perms = [
            Permission.objects.get(content_type__app_label=app, codename=codename)
            for app, codename in codes
        ]
        group.permissions.set(perms)


def drop_roles(apps: Apps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0001_initial"),
        ("learners", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("authtoken", "0004_alter_tokenproxy_options"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]
    operations = [migrations.RunPython(create_roles, drop_roles)]
