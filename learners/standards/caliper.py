"""Caliper envelopes, as Canvas Live Events send them, verified and read.

With "Sign Payload" on, Canvas posts the envelope as the claims of a JWT signed with RS256 by
keys it publishes as a JWK set and rotates monthly; ``CALIPER_JWKS`` holds that set, and
``CALIPER_JWKS_URL`` (Canvas's published set) is fetched for a key it does not hold. Canvas
signs every customer's events with the same keys, so the envelope's ``sensor`` (the Canvas
instance) is what ties an event to one LMS source.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
from typing import Any

import jwt
from django.utils.dateparse import parse_datetime

from learners.models import ActivityEvent, LmsSource
from learners.standards.mapping import MAX_ID_LENGTH, EventError, Mapped, canonical_digest

ACTIVE = ActivityEvent.Kind.ACTIVE
# (event type, action) → activity kind; a type alone stands for any of its actions.
ACTIONS: dict[tuple[str, str], str] = {
    ("SessionEvent", "LoggedIn"): ActivityEvent.Kind.LOGIN,
    ("SessionEvent", "LoggedOut"): ACTIVE,
    ("NavigationEvent", "NavigatedTo"): ACTIVE,
    ("ViewEvent", "Viewed"): ACTIVE,
    ("AssessmentEvent", "Started"): ACTIVE,
    ("AssessmentEvent", "Resumed"): ACTIVE,
    ("AssessmentEvent", "Restarted"): ACTIVE,
    ("AssessmentEvent", "Paused"): ACTIVE,
    ("AssessmentEvent", "Submitted"): ActivityEvent.Kind.MODULE_COMPLETED,
    ("AssessmentItemEvent", "Started"): ACTIVE,
    ("AssessmentItemEvent", "Completed"): ACTIVE,
    ("AssignableEvent", "Started"): ACTIVE,
    ("AssignableEvent", "Submitted"): ActivityEvent.Kind.MODULE_COMPLETED,
    ("AssignableEvent", "Completed"): ActivityEvent.Kind.MODULE_COMPLETED,
    ("MediaEvent", ""): ACTIVE,
    ("ToolUseEvent", "Used"): ACTIVE,
    ("MessageEvent", "Posted"): ACTIVE,
}
# Canvas global ids are shard * 10^13 + the id staff see in Canvas.
CANVAS_SHARD = 10**13
CANVAS = "com.instructure.canvas"


class SignatureError(ValueError):
    """The JWT is not signed by a configured key (or is expired, or is not a JWT)."""


class KeysUnavailable(RuntimeError):
    """The published key set could not be fetched: the sender should try again later."""


@functools.cache
def _client(url: str) -> jwt.PyJWKClient:
    # One client per URL and process: it keeps the fetched set for an hour, and a kid it has
    # not seen (Canvas's next key, now in use) makes it fetch again.
    return jwt.PyJWKClient(url, cache_jwk_set=True, lifespan=3600, timeout=10)


def _configured_key(kid: Any, jwks: dict[str, Any]) -> jwt.PyJWK | None:
    if not jwks.get("keys"):
        return None
    try:
        keys = jwt.PyJWKSet.from_dict(jwks).keys
    except jwt.PyJWKSetError as exc:
        raise SignatureError(f"CALIPER_JWKS holds no usable key: {exc}.") from None
    key = next((k for k in keys if k.key_id == kid), None) if kid else None
    if key is None and len(keys) == 1 and not kid:
        key = keys[0]
    return key


def _published_key(token: str, url: str) -> jwt.PyJWK:
    try:
        return _client(url).get_signing_key_from_jwt(token)
    except jwt.PyJWKClientConnectionError as exc:
        raise KeysUnavailable(f"The Caliper keys could not be fetched from {url}: {exc}") from None
    except (jwt.PyJWKClientError, jwt.PyJWKSetError, jwt.InvalidTokenError) as exc:
        raise SignatureError(f"No published key signs this JWT: {exc}.") from None


def verify(token: str, *, jwks: dict[str, Any], jwks_url: str = "") -> Any:
    """The claims of a Canvas-signed JWT, checked against the JWK set ``jwks`` and, for a key
    it does not hold, the set published at ``jwks_url``."""
    if not jwks.get("keys") and not jwks_url:
        raise SignatureError("No Caliper signing keys are configured (CALIPER_JWKS).")
    try:
        kid = jwt.get_unverified_header(token).get("kid")
    except jwt.InvalidTokenError as exc:
        raise SignatureError(f"The body is not a signed JWT: {exc}.") from None
    key = _configured_key(kid, jwks)
    if key is None and jwks_url:
        key = _published_key(token, jwks_url)
    if key is None:
        raise SignatureError(f"No configured key has the id {kid!r}.")
    try:
        return jwt.decode(
            token, key.key, algorithms=["RS256"], leeway=60, options={"verify_aud": False}
        )
    except jwt.InvalidTokenError as exc:
        raise SignatureError(f"The JWT's signature or claims are not valid: {exc}.") from None


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _tail(value: str) -> str:
    return value.rsplit("#", 1)[-1].rsplit("/", 1)[-1]


def _canvas_ids(entity: dict[str, Any]) -> list[str]:
    """An entity's ids, most specific first: the local Canvas id, the global id, the IRI."""
    iri = _text(entity.get("id"))
    global_id = _text(_dict(_dict(entity.get("extensions")).get(CANVAS)).get("entity_id"))
    global_id = global_id or iri.rsplit(":", 1)[-1]
    ids = []
    if global_id.isdigit():
        ids += [str(int(global_id) % CANVAS_SHARD), global_id]
    return [*ids, iri] if iri else ids


def _person(entity: Any) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    person = entity if isinstance(entity, dict) else {"id": _text(entity)}
    extensions = _dict(_dict(person.get("extensions")).get(CANVAS))
    sis = _text(extensions.get("user_sis_id")) or _text(extensions.get("sis_id"))
    login = _text(extensions.get("user_login"))
    ids = tuple(ref for ref in [sis, *_canvas_ids(person)] if ref)
    return _text(person.get("id")), ids, (login,) if "@" in login else ()


def _course(event: dict[str, Any]) -> tuple[str, ...]:
    group = _dict(event.get("group"))
    if group.get("type") != "CourseOffering":
        group = _dict(_dict(event.get("membership")).get("organization"))
    return tuple(_canvas_ids(group)) if group.get("type") == "CourseOffering" else ()


def _module(obj: dict[str, Any]) -> str:
    extensions = _dict(_dict(obj.get("extensions")).get(CANVAS))
    assignable = _dict(obj.get("assignable"))
    return (
        _text(obj.get("name"))
        or _text(extensions.get("asset_name"))
        or _text(assignable.get("name"))
        or _text(assignable.get("id") or obj.get("id"))
    )


def read_event(value: Any, *, index: int) -> Mapped:
    event = value if isinstance(value, dict) else None
    if event is None:
        raise EventError(index, "An event must be a JSON object.")
    event_id, event_type = _text(event.get("id")), _text(event.get("type"))
    if not event_id or not event_type:
        raise EventError(index, "An event needs an id and a type.")
    occurred = parse_datetime(_text(event.get("eventTime")))
    if occurred is None:
        raise EventError(index, "eventTime must be an ISO 8601 date and time.")
    occurred = (occurred if occurred.tzinfo else occurred.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)
    action = _tail(_text(event.get("action")))
    kind = ACTIONS.get((event_type, action)) or ACTIONS.get((event_type, ""))
    reason = "" if kind else f"The {event_type} action {action or '(none)'} is not mapped."
    obj = _dict(event.get("object"))
    actor = event.get("actor")
    if event_type == "GradeEvent":
        # The actor is whoever graded; only a learner's own (auto-scored) attempt is theirs.
        assignee = _dict(obj.get("assignee"))
        if _person(actor)[0] and _person(actor)[0] == _text(assignee.get("id")):
            kind, reason = ACTIVE, ""
        else:
            reason = "A grade given by someone else is not the learner's activity."
    display, ids, emails = _person(actor)
    if _dict(actor).get("type") not in (None, "Person"):
        kind, reason = None, f"The actor is a {_dict(actor).get('type')}, not a person."
    digest = canonical_digest(event)
    if len(event_id) > MAX_ID_LENGTH:
        event_id = hashlib.sha256(event_id.encode()).hexdigest()
    return Mapped(
        statement_id=event_id,
        digest=digest,
        raw=event,
        occurred_at=occurred,
        verb=f"{event_type} {action}".strip(),
        actor=display,
        learner_ids=ids,
        learner_emails=emails,
        kind=kind,
        reason=reason,
        course_refs=_course(event),
        module=_module(obj) if kind == ActivityEvent.Kind.MODULE_COMPLETED else "",
    )


def _same_sensor(a: str, b: str) -> bool:
    return a.rstrip("/").lower() == b.rstrip("/").lower()


def read_envelope(envelope: Any, *, source: LmsSource) -> list[Mapped]:
    """The events of an envelope from ``source``'s sensor (``StatementError`` if malformed)."""
    if not isinstance(envelope, dict) or not isinstance(envelope.get("data"), list):
        raise EventError(0, "A Caliper envelope is an object with a data array.")
    sensor = _text(envelope.get("sensor"))
    if source.caliper_sensor and not _same_sensor(sensor, source.caliper_sensor):
        raise SensorError(f"Events from the sensor {sensor or '(none)'} are not this source's.")
    return [read_event(item, index=i) for i, item in enumerate(envelope["data"])]


class SensorError(ValueError):
    """The envelope comes from another LMS than the source it was sent to."""
