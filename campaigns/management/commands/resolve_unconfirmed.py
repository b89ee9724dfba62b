"""``manage.py resolve_unconfirmed [--campaign SLUG] [--sent ID …] [--resend ID …]``.

Lists the sends whose fate is unknown (a worker stopped during the ESP call), with the
Message-ID to look up in the ESP's activity log; then marks those found there as sent and
releases the others for one more try.
"""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand
from django.utils import timezone

from campaigns.delivery.record import mark_unconfirmed_sent, release_unconfirmed
from campaigns.models import Send


class Command(BaseCommand):
    help = (
        "List unconfirmed sends with their Message-ID; --sent IDS marks those the ESP has as "
        "sent, --resend IDS queues those it never received again."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--campaign", help="only this campaign's sends (its slug)")
        parser.add_argument("--sent", type=int, nargs="+", default=[], metavar="ID")
        parser.add_argument("--resend", type=int, nargs="+", default=[], metavar="ID")

    def handle(self, *args: Any, **options: Any) -> None:
        now = timezone.now()
        if options["sent"] or options["resend"]:
            sent = mark_unconfirmed_sent(send_ids=options["sent"], now=now)
            resent = release_unconfirmed(send_ids=options["resend"], now=now)
            self.stdout.write(f"marked sent: {sent}; released for resend: {resent}")
            return
        pending = Send.objects.filter(status=Send.Status.UNCONFIRMED).order_by("pk")
        if options["campaign"]:
            pending = pending.filter(campaign__slug=options["campaign"])
        rows = list(pending.values_list("pk", "to_email", "message_id", "claimed_at"))
        for pk, to, message_id, claimed_at in rows:
            when = claimed_at.isoformat() if claimed_at else "-"
            self.stdout.write(f"{pk}\t{to}\t{message_id}\t{when}")
        self.stdout.write(
            f"{len(rows)} unconfirmed. Look each Message-ID up in the ESP's log, then run "
            "with --sent ID … for those it has and --resend ID … for the others."
        )
