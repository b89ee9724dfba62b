"""Moodle's own event data, as a webhook plugin (local_webhooks) posts it, read.

Each event is Moodle's ``$event->get_data()``: ``eventname``, ``userid``, ``relateduserid``,
``courseid``, ``contextinstanceid``, ``edulevel``, ``crud``, ``other``, ``timecreated`` (Unix
seconds) …, plus the plugin's ``host``, ``token`` and ``extra``. Moodle gives the event no id,
so its id here is a digest of the fields that say what happened, to whom and when: a resent
event is recognised. The ``token`` is a credential and is never stored.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from learners.models import ActivityEvent
from learners.standards.mapping import EventError, Mapped, canonical_digest

# Moodle's edulevel for what a learner does in a course (LEVEL_PARTICIPATING).
PARTICIPATING = 2
# Course id 1 is the site's front page, not a course.
SITE_COURSE_IDS = {"", "0", "1"}
NAMED: dict[str, str] = {
    "\\core\\event\\user_loggedin": ActivityEvent.Kind.LOGIN,
    "\\core\\event\\course_viewed": ActivityEvent.Kind.ACTIVE,
    "\\core\\event\\course_completed": ActivityEvent.Kind.COURSE_COMPLETED,
    "\\core\\event\\course_module_completion_updated": ActivityEvent.Kind.MODULE_COMPLETED,
}
# Any module's events that say a learner opened or started it.
STARTED = {"course_module_viewed", "sco_launched", "attempt_started", "attempt_viewed"}
# Events about the user they name in relateduserid (a completion is often recorded by cron).
ABOUT_RELATED_USER = {
    "\\core\\event\\course_completed",
    "\\core\\event\\course_module_completion_updated",
}
IDENTITY = (
    "eventname",
    "userid",
    "relateduserid",
    "courseid",
    "contextinstanceid",
    "objectid",
    "timecreated",
)
# ``other`` arrives decoded or PHP-serialised (a:3:{s:15:"completionstate";i:2;…}).
SERIALISED_COMPLETION = re.compile(r's:15:"completionstate";i:(\d+);')


def _id(value: Any) -> str:
    return (
        str(value).strip() if isinstance(value, int | str) and not isinstance(value, bool) else ""
    )


def _completion_state(other: Any) -> int | None:
    if isinstance(other, dict):
        value = other.get("completionstate")
        return value if isinstance(value, int) else None
    match = SERIALISED_COMPLETION.search(other) if isinstance(other, str) else None
    return int(match.group(1)) if match else None


def _kind(event: dict[str, Any], name: str) -> tuple[str | None, str]:
    if event.get("anonymous") in (1, "1", True):
        return None, "The event is anonymous."
    kind = NAMED.get(name)
    if name.rsplit("\\", 1)[-1] in STARTED:
        kind = ActivityEvent.Kind.ACTIVE
    if kind == ActivityEvent.Kind.MODULE_COMPLETED and not _completion_state(event.get("other")):
        return None, "The module was marked not complete."
    if kind is None and event.get("edulevel") == PARTICIPATING:
        kind = ActivityEvent.Kind.ACTIVE
    if kind is None:
        return None, f"The event {name} is not something a learner does in a course."
    return kind, ""


def read_event(value: Any, *, index: int) -> Mapped:
    if not isinstance(value, dict):
        raise EventError(index, "An event must be a JSON object.")
    event = {k: v for k, v in value.items() if k != "token"}
    name = event.get("eventname")
    if not isinstance(name, str) or not name:
        raise EventError(index, "eventname is required.")
    created = event.get("timecreated")
    if isinstance(created, str) and created.isdigit():
        created = int(created)
    if not isinstance(created, int) or isinstance(created, bool):
        raise EventError(index, "timecreated must be Unix seconds.")
    user = _id(event.get("userid"))
    if name in ABOUT_RELATED_USER and _id(event.get("relateduserid")):
        user = _id(event.get("relateduserid"))
    kind, reason = _kind(event, name)
    if kind and user in ("", "0", "-1"):
        kind, reason = None, "The event has no user (a guest or the system)."
    course = _id(event.get("courseid"))
    digest = canonical_digest(event)
    return Mapped(
        statement_id=canonical_digest({key: event.get(key) for key in IDENTITY}),
        digest=digest,
        raw=event,
        occurred_at=dt.datetime.fromtimestamp(created, tz=dt.UTC),
        verb=name,
        actor=f"user {user}" if user else "",
        learner_ids=(user,) if user else (),
        kind=kind,
        reason=reason,
        course_refs=() if course in SITE_COURSE_IDS else (course,),
    )


def token_of(value: Any) -> str:
    """The plugin's ``token`` field (of the event, or of the first of several)."""
    first = value[0] if isinstance(value, list) and value else value
    token = first.get("token") if isinstance(first, dict) else None
    return token if isinstance(token, str) else ""
