"""``manage.py seed_demo``: the demo's learners, managers, courses, progress and activity."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from learners.demo import seed_demo_learners


class Command(BaseCommand):
    help = (
        "Create a realistic demo population (learners with roles, teams, managers, course "
        "progress and inactivity spread over 0–180 days). Running it again creates nothing new."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--learners", type=int, default=3000, help="Default: 3000.")
        parser.add_argument("--seed", type=int, default=1, help="Same seed, same people.")

    def handle(self, *args: Any, **options: Any) -> None:
        summary = seed_demo_learners(
            count=options["learners"], now=timezone.now(), seed=options["seed"]
        )
        self.stdout.write(
            f"Demo learners: created {summary.learners} learners, {summary.managers} managers, "
            f"{summary.courses} courses, {summary.progress} progress rows, "
            f"{summary.events} activity events."
        )
