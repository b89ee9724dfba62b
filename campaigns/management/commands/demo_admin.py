"""Create the demo's admin login (once) and print where to sign in."""

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

USERNAME = "admin"
PASSWORD = "admin"  # noqa: S105 - the local demo only; refused when DEBUG is off


class Command(BaseCommand):
    help = "Create the demo admin user (admin / admin) if missing and print the admin URL."

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG:
            raise CommandError(
                "demo_admin sets a well-known password, so it runs only with DEBUG on"
            )
        User = get_user_model()
        if not User.objects.filter(username=USERNAME).exists():
            User.objects.create_superuser(USERNAME, "admin@example.com", PASSWORD)
        self.stdout.write(
            self.style.SUCCESS(
                f"\n  Admin:  {settings.PUBLIC_BASE_URL}/admin/\n"
                f"  Login:  {USERNAME} / {PASSWORD}\n"
                f"  Emails: written to {settings.EMAIL_FILE_PATH}\n"
            )
        )
