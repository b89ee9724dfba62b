"""One benchmark phase in a process of its own: ``python -m bench.phase NAME --out FILE …``.

A fresh process per phase makes its peak memory (``ru_maxrss``) the phase's own, and keeps
one phase's caches from flattering the next. The result is written as JSON to ``--out``.
The engine, delivery and blueprint modules are looked up by name at run time, so the harness
does not depend on their import-time details.
"""

from __future__ import annotations

import argparse
import cProfile
import dataclasses
import datetime as dt
import importlib
import io
import json
import pstats
import resource
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402

from campaigns.content.emails import render_send  # noqa: E402
from campaigns.engine.segments import segment_learners  # noqa: E402
from campaigns.models import Campaign, Segment, Send  # noqa: E402
from learners.models import CourseProgress  # noqa: E402

from . import naive  # noqa: E402
from .statements import StatementLog  # noqa: E402

SEGMENT_NAME = "Inactive 30–59 days"
POSTAL_ADDRESS = "Example Corp, 1 Learning Way, 10115 Berlin, Germany"
# Plans worth printing: the statements that take most of the pass.
TOP_STATEMENTS = 8


def peak_rss_mb() -> float:
    # Linux reports ru_maxrss in KiB.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {k: _jsonable(v) for k, v in dataclasses.asdict(value).items()}
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, int | float | str | bool) or value is None:
        return value
    if hasattr(value, "__dict__"):
        return {k: _jsonable(v) for k, v in vars(value).items() if not k.startswith("_")}
    return str(value)


def setup(args: argparse.Namespace) -> dict[str, Any]:
    """The blueprint campaign on a 30–59-days segment, launched."""
    now: dt.datetime = args.now
    segment = Segment.objects.create(name=SEGMENT_NAME, min_inactive_days=30, max_inactive_days=59)
    try:
        blueprint = importlib.import_module("campaigns.building.blueprint")
    except ImportError:
        blueprint = None
    if blueprint is not None:
        campaign: Campaign = blueprint.create_blueprint_campaign(
            name="Win back: inactive 30–59 days", segment=segment, compressed=False, now=now
        )
        source = "campaigns.building.blueprint.create_blueprint_campaign"
    else:
        campaign = _six_steps(segment)
        source = "bench fallback (six steps, days 0/3/7/10/14/21)"
    campaign.postal_address = campaign.postal_address or POSTAL_ADDRESS
    campaign.from_email = campaign.from_email or "learning@example.com"
    campaign.save()
    launched = _launch(campaign, now=now)
    return {
        "campaign_id": campaign.pk,
        "campaign_source": source,
        "launched_with": launched,
        "steps": campaign.steps.count(),
        "segment_size": segment_learners(segment, now=now).count(),
        "batch_size": settings.DELIVERY_BATCH_SIZE,
    }


def _launch(campaign: Campaign, *, now: dt.datetime) -> str:
    try:
        services = importlib.import_module("campaigns.building.services")
        launch: Callable[..., Any] = services.launch_campaign
    except (ImportError, AttributeError):
        Campaign.objects.filter(pk=campaign.pk).update(
            status=Campaign.Status.ACTIVE, launched_at=now
        )
        return "status update"
    launch(campaign=campaign, now=now)
    return "campaigns.building.services.launch_campaign"


def _six_steps(segment: Segment) -> Campaign:
    campaign = Campaign.objects.create(
        name="Win back: inactive 30–59 days", slug="win-back-30-59", segment=segment
    )
    for position, (day, audience) in enumerate(
        [
            (0, "learner"),
            (3, "learner"),
            (7, "both"),
            (10, "learner"),
            (14, "learner"),
            (21, "learner"),
        ],
        start=1,
    ):
        campaign.steps.create(
            position=position,
            delay_days=day,
            audience=audience,
            subject="{{ first_name }}, we saved your progress in {{ course_title }}",
            body="Hi {{ first_name }}, you stopped at {{ last_module }}. Next: {{ next_module }}.",
            cta_label="Resume where you stopped",
            manager_subject="{{ first_name }} paused {{ course_title }}",
            manager_body="{{ full_name }} paused {{ course_title }} at {{ last_module }}.",
        )
    return campaign


def naive_phase(args: argparse.Namespace) -> dict[str, Any]:
    campaign = Campaign.objects.select_related("segment").get(pk=args.campaign)
    result = naive.naive_loop(campaign=campaign, now=args.now, sample=args.sample)
    naive.undo(result.enrollment_ids)
    out = _jsonable(result)
    out.pop("enrollment_ids")
    out["learners_per_second"] = result.learners_per_second
    out["db_learners_per_second"] = result.db_learners_per_second
    out["peak_rss_mb"] = peak_rss_mb()
    return out


def pass_phase(args: argparse.Namespace) -> dict[str, Any]:
    """One evaluation pass at ``--now``, sends left for the benchmark to hand to delivery."""
    run_pass: Callable[..., Any] = importlib.import_module("campaigns.engine.run").run_pass
    # Connect and load the app registry's lazies before the clock starts.
    connection.ensure_connection()
    baseline = peak_rss_mb()
    log = StatementLog(explain=args.explain, plan_file=args.out.with_suffix(".plans.md"))
    profiler = cProfile.Profile() if args.profile else None
    with connection.execute_wrapper(log):
        started = time.perf_counter()
        if profiler:
            profiler.enable()
        result = run_pass(now=args.now)
        if profiler:
            profiler.disable()
        wall = time.perf_counter() - started
    out: dict[str, Any] = {
        "seconds": wall - log.explain_seconds,
        "explain_seconds": log.explain_seconds,
        "peak_rss_mb": peak_rss_mb(),
        "baseline_rss_mb": baseline,
        "queries": log.calls,
        "result": _jsonable(result),
        "statements": [
            {"sql": s.sql, "calls": s.calls, "seconds": s.seconds, "plan": s.plan}
            for s in log.top(TOP_STATEMENTS)
        ],
    }
    if profiler:
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(40)
        Path(args.profile).write_text(text.getvalue())
        out["profile"] = str(args.profile)
    return out


def queued_sends(campaign_id: int) -> Any:
    return Send.objects.filter(campaign_id=campaign_id, status=Send.Status.QUEUED).order_by("pk")


def render_sample(args: argparse.Namespace) -> dict[str, Any]:
    """Render one real queued email and store it: the bare loop sends copies of it."""
    send = (
        queued_sends(args.campaign)
        .select_related("enrollment__course", "learner__manager", "campaign", "step", "variant")
        .first()
    )
    if send is None:
        raise SystemExit("no queued send to render")
    progress = CourseProgress.objects.filter(
        learner_id=send.learner_id, course_id=send.enrollment.course_id
    ).first()
    email = render_send(send, progress=progress, now=args.now)
    message = {
        "subject": email.subject,
        "text": email.text,
        "html": email.html,
        "from_email": email.from_email,
        "to": email.to,
        "reply_to": email.reply_to,
        "headers": email.headers,
    }
    Path(args.message).write_text(json.dumps(message))
    raw = email.as_message().message().as_bytes()
    return {"send_id": send.pk, "bytes": len(raw), "subject": email.subject}


def enqueue(args: argparse.Namespace) -> dict[str, Any]:
    """Hand ``--limit`` queued sends to delivery workers, in tasks of DELIVERY_BATCH_SIZE ids."""
    deliver_sends: Any = importlib.import_module("campaigns.tasks").deliver_sends
    # Workers decide quiet hours by their own clock, and the pass ran at a chosen moment in the
    # past: open the campaign's window, so that delivery measures throughput and every round
    # delivers the same sends whatever the hour the benchmark runs at.
    Campaign.objects.filter(pk=args.campaign).update(
        quiet_hours_start=dt.time(0),
        quiet_hours_end=dt.time(0),
        sending_weekdays="0,1,2,3,4,5,6",
    )
    ids = list(queued_sends(args.campaign).values_list("pk", flat=True)[: args.limit])
    size = settings.DELIVERY_BATCH_SIZE
    started = time.time()
    tasks = 0
    for start in range(0, len(ids), size):
        deliver_sends.delay(ids[start : start + size])
        tasks += 1
    return {"started": started, "finished": time.time(), "sends": len(ids), "tasks": tasks}


def digest_settings(args: argparse.Namespace) -> dict[str, Any]:
    """Make every manager's weekly digest due at ``--now``: its weekday, and the earliest local
    hour any manager is at then (Los Angeles' morning); later zones are later in that day, which
    the digest rule still counts as due. The worst case: every digest of the week in one pass."""
    from zoneinfo import ZoneInfo

    from campaigns.models import DigestSettings
    from learners.models import Manager

    now: dt.datetime = args.now
    zones = set(Manager.objects.values_list("time_zone", flat=True).distinct())
    local = [now.astimezone(ZoneInfo(zone or settings.MANAGER_DEFAULT_TIME_ZONE)) for zone in zones]
    weekdays = {moment.weekday() for moment in local}
    if len(weekdays) != 1:
        raise SystemExit(f"managers' zones span weekdays {sorted(weekdays)} at {now}")
    hour = min(moment.hour for moment in local)
    DigestSettings.objects.update_or_create(
        pk=1, defaults={"weekday": weekdays.pop(), "hour": hour, "enabled": True}
    )
    return {
        "zones": len(zones),
        "hour": hour,
        "managers": Manager.objects.count(),
    }


PHASES: dict[str, Callable[[argparse.Namespace], dict[str, Any]]] = {
    "digest-settings": digest_settings,
    "setup": setup,
    "naive": naive_phase,
    "pass": pass_phase,
    "render-sample": render_sample,
    "enqueue": enqueue,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("phase", choices=sorted(PHASES))
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--now", type=dt.datetime.fromisoformat, required=True)
    parser.add_argument("--campaign", type=int, default=0)
    parser.add_argument("--sample", type=int, default=0)
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("--message", type=Path)
    parser.add_argument("--explain", action="store_true")
    parser.add_argument("--profile", type=Path)
    args = parser.parse_args()
    started = time.perf_counter()
    result = PHASES[args.phase](args)
    result.setdefault("phase_seconds", time.perf_counter() - started)
    args.out.write_text(json.dumps(result, default=str, indent=2))


if __name__ == "__main__":
    main()
