"""``manage.py seed_demo``: the demo's learners, managers, courses, progress and activity, and
the blueprint campaign on the "Inactive 30–59 days" segment."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from campaigns.building.blueprint import ensure_demo_campaign
from campaigns.building.services import launch_campaign
from campaigns.models import Campaign
from learners.demo import seed_demo_learners


class Command(BaseCommand):
    help = (
        "Create a realistic demo population (learners with roles, teams, managers, course "
        "progress and inactivity spread over 0–180 days) and the blueprint campaign, launched. "
        "Running it again creates nothing new."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--learners", type=int, default=3000, help="Default: 3000.")
        parser.add_argument("--seed", type=int, default=1, help="Same seed, same people.")
        parser.add_argument(
            "--draft", action="store_true", help="Leave a newly created demo campaign as a draft."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        now = timezone.now()
        summary = seed_demo_learners(count=options["learners"], now=now, seed=options["seed"])
        self.stdout.write(
            f"Demo learners: created {summary.learners} learners, {summary.managers} managers, "
            f"{summary.courses} courses, {summary.progress} progress rows, "
            f"{summary.events} activity events."
        )
        campaign = ensure_demo_campaign(now=now)
        # Launch only a campaign nobody has launched yet: a demo someone paused stays paused.
        if (
            not options["draft"]
            and campaign.status == Campaign.Status.DRAFT
            and campaign.launched_at is None
        ):
            campaign = launch_campaign(campaign=campaign, now=now)
        self.stdout.write(f"Demo campaign: “{campaign.name}” ({campaign.get_status_display()}).")
