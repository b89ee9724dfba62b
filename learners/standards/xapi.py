"""xAPI statements (as Moodle's logstore_xapi and Open edX's event routing send them), read.

A statement that breaks the xAPI rules (no actor, a verb without an id, an id that is not a
UUID, an unreadable timestamp) raises :class:`StatementError`: the LRS answers 400 for the
batch, as the specification requires. A valid statement this product cannot use is not an
error: it is mapped with ``kind=None`` and a reason, and stored as ignored.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any

from django.utils.dateparse import parse_datetime

from learners.models import ActivityEvent
from learners.standards.mapping import Mapped, StatementError, canonical_digest

VERSION = "1.0.3"
VERSION_PATTERN = re.compile(r"^1\.0(\.\d+)?$")
# Ids the LRS gives statements sent without one: a UUID of their content, so that a batch
# resent after a lost answer is recognised instead of stored twice.
ID_NAMESPACE = uuid.UUID("6b1c8a50-2f4e-4d7a-9a57-0c1f0b6f2e11")
# Set by an LRS, not the sender: left out when telling a replay from a different statement.
LRS_PROPERTIES = ("id", "stored", "authority", "version")

ACTIVE = ActivityEvent.Kind.ACTIVE
LOGIN = ActivityEvent.Kind.LOGIN
COMPLETED = "completed"
PROGRESSED = "progressed"
VERBS: dict[str, str] = {
    "http://adlnet.gov/expapi/verbs/launched": ACTIVE,
    "http://adlnet.gov/expapi/verbs/initialized": ACTIVE,
    "http://adlnet.gov/expapi/verbs/experienced": ACTIVE,
    "http://adlnet.gov/expapi/verbs/attempted": ACTIVE,
    "http://adlnet.gov/expapi/verbs/resumed": ACTIVE,
    "http://adlnet.gov/expapi/verbs/answered": ACTIVE,
    # Moodle's and Open edX's ways of saying the learner looked at or played something.
    "http://id.tincanapi.com/verb/viewed": ACTIVE,
    "https://w3id.org/xapi/video/verbs/played": ACTIVE,
    "https://w3id.org/xapi/dod-isd/verbs/navigated": ACTIVE,
    "https://w3id.org/xapi/adl/verbs/logged-in": LOGIN,
    "https://xapi.edlm/profiles/edlm-lms/concepts/verbs/login": LOGIN,
    "http://adlnet.gov/expapi/verbs/completed": COMPLETED,
    "http://adlnet.gov/expapi/verbs/passed": COMPLETED,
    "http://adlnet.gov/expapi/verbs/progressed": PROGRESSED,
}
COURSE_TYPES = frozenset(
    {
        "http://adlnet.gov/expapi/activities/course",
        "https://w3id.org/xapi/cmi5/activitytype/course",
        "http://id.tincanapi.com/activitytype/lms/course",
        "http://lrs.learninglocker.net/define/type/moodle/course",
    }
)
PROGRESS_EXTENSION = "https://w3id.org/xapi/cmi5/result/extensions/progress"
# An LMS id inside a course IRI: Moodle's course/view.php?id=2, Open edX's /course/<key>.
COURSE_ID_PATTERNS = (
    re.compile(r"/course/view\.php\?(?:.*&)?id=(?P<id>\d+)"),
    re.compile(r"/courses?/(?P<id>course-v1:[^/?#]+)"),
)


def _dict(value: Any, index: int, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise StatementError(index, f"{what} must be a JSON object.")
    return value


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _timestamp(statement: dict[str, Any], index: int, now: dt.datetime) -> dt.datetime:
    raw = statement.get("timestamp")
    if raw is None:
        # The specification: without a timestamp, the statement happened when it was stored.
        return now
    parsed = parse_datetime(raw) if isinstance(raw, str) else None
    if parsed is None:
        raise StatementError(index, f"timestamp {raw!r} is not an ISO 8601 date and time.")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)


def _statement_id(statement: dict[str, Any], index: int, digest: str) -> str:
    raw = statement.get("id")
    if raw is None:
        return str(uuid.uuid5(ID_NAMESPACE, digest))
    try:
        return str(uuid.UUID(raw)) if isinstance(raw, str) else ""
    except ValueError:
        pass
    raise StatementError(index, f"id {raw!r} is not a UUID.")


def _actor(actor: dict[str, Any]) -> tuple[str, tuple[str, ...], tuple[str, ...], str]:
    """(display, LMS ids, emails, reason it names nobody) for an actor."""
    if actor.get("objectType") == "Group":
        return "a group", (), (), "The actor is a group, not a learner."
    account = actor.get("account")
    ids: tuple[str, ...] = ()
    if isinstance(account, dict) and _text(account.get("name")):
        ids = (account["name"],)
    mbox = _text(actor.get("mbox"))
    emails = (mbox.removeprefix("mailto:"),) if mbox.startswith("mailto:") else ()
    display = f"account {ids[0]}" if ids else mbox or _text(actor.get("name"))
    if not (ids or emails):
        return display, (), (), "The actor has neither an account name nor an mbox."
    return display, ids, emails, ""


def _name(activity: dict[str, Any]) -> str:
    definition = activity.get("definition")
    names = definition.get("name") if isinstance(definition, dict) else None
    if isinstance(names, dict):
        for value in names.values():
            if isinstance(value, str) and value:
                return value
    return _text(activity.get("id"))


def _type(activity: Any) -> str:
    definition = activity.get("definition") if isinstance(activity, dict) else None
    return _text(definition.get("type")) if isinstance(definition, dict) else ""


def _course_refs(activity_id: str) -> tuple[str, ...]:
    refs = [activity_id]
    for pattern in COURSE_ID_PATTERNS:
        match = pattern.search(activity_id)
        if match:
            refs.append(match.group("id"))
    return tuple(refs)


def _courses(obj: dict[str, Any], context: dict[str, Any]) -> tuple[str, ...]:
    """Candidate courses: the object if it is one, else its parents, course-typed ones first."""
    if _type(obj) in COURSE_TYPES:
        return _course_refs(_text(obj.get("id")))
    activities = context.get("contextActivities")
    if not isinstance(activities, dict):
        return ()
    parents = [p for key in ("parent", "grouping") for p in _list(activities.get(key))]
    parents.sort(key=lambda p: _type(p) not in COURSE_TYPES)
    return tuple(ref for p in parents for ref in _course_refs(_text(p.get("id"))) if ref)


def _list(value: Any) -> list[dict[str, Any]]:
    items = value if isinstance(value, list) else [value]
    return [item for item in items if isinstance(item, dict)]


def _progress(statement: dict[str, Any]) -> float | None:
    result = statement.get("result")
    extensions = result.get("extensions") if isinstance(result, dict) else None
    value = extensions.get(PROGRESS_EXTENSION) if isinstance(extensions, dict) else None
    if isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= 100:
        return float(value)
    return None


def _meaning(verb_id: str, statement: dict[str, Any], obj: dict[str, Any]) -> tuple[Any, ...]:
    """(kind, percent, reason) for a statement's verb and object."""
    meaning = VERBS.get(verb_id)
    is_course = _type(obj) in COURSE_TYPES
    if meaning is None:
        return None, None, f"The verb {verb_id} is not mapped to any activity."
    if meaning == COMPLETED:
        if is_course:
            return ActivityEvent.Kind.COURSE_COMPLETED, None, ""
        return ActivityEvent.Kind.MODULE_COMPLETED, None, ""
    if meaning == PROGRESSED:
        percent = _progress(statement)
        if is_course:
            return ACTIVE, percent, ""
        # A module's own progress says nothing about the course's, except that 100 finishes it.
        if percent is not None and percent >= 100:
            return ActivityEvent.Kind.MODULE_COMPLETED, None, ""
        return ACTIVE, None, ""
    return meaning, None, ""


def read_statement(value: Any, *, index: int, now: dt.datetime) -> Mapped:
    """Check one statement against the xAPI rules this product relies on, and read it."""
    statement = _dict(value, index, "A statement")
    actor = _dict(statement.get("actor"), index, "actor")
    verb = _dict(statement.get("verb"), index, "verb")
    obj = _dict(statement.get("object"), index, "object")
    verb_id = _text(verb.get("id"))
    if not verb_id:
        raise StatementError(index, "verb.id is required.")
    if not _text(obj.get("id")) and obj.get("objectType") in (None, "Activity"):
        raise StatementError(index, "object.id is required.")
    context = statement.get("context")
    context = context if isinstance(context, dict) else {}
    digest = canonical_digest({k: v for k, v in statement.items() if k not in LRS_PROPERTIES})
    statement_id = _statement_id(statement, index, digest)
    display, ids, emails, reason = _actor(actor)
    kind, percent, verb_reason = _meaning(verb_id, statement, obj)
    if obj.get("objectType") in ("StatementRef", "SubStatement"):
        kind, percent, verb_reason = None, None, "The object is a statement, not an activity."
    module = _name(obj) if kind == ActivityEvent.Kind.MODULE_COMPLETED else ""
    return Mapped(
        statement_id=statement_id,
        digest=digest,
        # Stored as an LRS keeps it: with its id, given or assigned.
        raw={**statement, "id": statement_id},
        occurred_at=_timestamp(statement, index, now),
        verb=verb_id,
        actor=display,
        learner_ids=ids,
        learner_emails=emails,
        kind=None if reason else kind,
        reason=reason or verb_reason,
        course_refs=_courses(obj, context),
        module=module,
        percent=percent,
    )


def read_statements(values: list[Any], *, now: dt.datetime) -> list[Mapped]:
    """Read a batch; two statements with the same id make the batch invalid (xAPI rule)."""
    mapped = [read_statement(value, index=i, now=now) for i, value in enumerate(values)]
    seen: set[str] = set()
    for index, (value, item) in enumerate(zip(values, mapped, strict=True)):
        if isinstance(value, dict) and "id" in value and item.statement_id in seen:
            raise StatementError(index, f"id {item.statement_id} appears twice in the batch.")
        seen.add(item.statement_id)
    return mapped


def version_is_supported(header: str | None) -> bool:
    return header is not None and VERSION_PATTERN.match(header.strip()) is not None
