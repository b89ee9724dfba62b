"""LMS API tokens in the admin through a proxy that never shows a key in full; data importers
manage them there instead of through the token admin that listed every key."""

from django.apps.registry import Apps
from django.contrib.auth.management import create_permissions
from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor

ACTIONS = ("add", "delete", "view")


def _permissions(apps: Apps, app_label: str, model: str) -> list[object]:
    Permission = apps.get_model("auth", "Permission")
    return list(
        Permission.objects.filter(
            content_type__app_label=app_label,
            codename__in=[f"{action}_{model}" for action in ACTIONS],
        )
    )


def move_importers_to_api_tokens(apps: Apps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    # Permissions are normally created after all migrations; the role needs them now.
    config = apps.get_app_config("campaigns")
    config.models_module = True  # type: ignore[assignment]
    create_permissions(config, verbosity=0, apps=apps)
    config.models_module = None
    group = apps.get_model("auth", "Group").objects.filter(name="Data importers").first()
    if group is None:
        return
    group.permissions.remove(*_permissions(apps, "authtoken", "tokenproxy"))
    group.permissions.add(*_permissions(apps, "campaigns", "apitoken"))


def move_importers_back(apps: Apps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    group = apps.get_model("auth", "Group").objects.filter(name="Data importers").first()
    if group is None:
        return
    group.permissions.remove(*_permissions(apps, "campaigns", "apitoken"))
    group.permissions.add(*_permissions(apps, "authtoken", "tokenproxy"))


class Migration(migrations.Migration):
    dependencies = [
        ("authtoken", "0004_alter_tokenproxy_options"),
        ("campaigns", "0010_esp_events"),
    ]

    operations = [
        migrations.CreateModel(
            name="ApiToken",
            fields=[],
            options={
                "verbose_name": "LMS API token",
                "verbose_name_plural": "LMS API tokens",
                "proxy": True,
                "indexes": [],
                "constraints": [],
            },
            bases=("authtoken.tokenproxy",),
        ),
        migrations.RunPython(move_importers_to_api_tokens, move_importers_back),
    ]
