"""Text messages: staff's few words, first names and nothing else about anyone (the learner's;
in a nudge to a manager, the manager's and the learner's), the tracked link and the opt-out
line, in at most two SMS segments.

The length is checked when staff save (:func:`sms_problem`) for the worst case: the longest
first name a message carries and the longest link. A first name whose characters are not in
the GSM 7-bit alphabet switches the whole message to UCS-2 (70 characters a segment); when that
would need a third segment, the message goes without the name.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError

from campaigns.content import links, templating, wording

MAX_SEGMENTS = 2
# A longer first name is cut: a text message is read at a glance.
FIRST_NAME_MAX = 20
OPT_OUT_LINE = "Reply STOP to opt out."
VARIABLES = ("first_name",)
# A nudge to a manager names the manager and the learner it is about, by first name only.
MANAGER_VARIABLES = ("first_name", "manager_first_name")
# The GSM 03.38 alphabet: basic characters count one, those of the extension table two.
_GSM_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENDED = set("^{}\\[~]|€\f")
# The longest id a send will have for years, for the worst-case link.
_LONGEST_SEND_ID = 10**12 - 1


def is_gsm(text: str) -> bool:
    return all(char in _GSM_BASIC or char in _GSM_EXTENDED for char in text)


def segments(text: str) -> int:
    """How many SMS segments ``text`` takes: 160 GSM characters in one, 153 a segment when
    concatenated; 70 and 67 UTF-16 code units in UCS-2."""
    if is_gsm(text):
        units = sum(2 if char in _GSM_EXTENDED else 1 for char in text)
        single, each = 160, 153
    else:
        units = len(text.encode("utf-16-le")) // 2
        single, each = 70, 67
    if units <= single:
        return 1
    return -(-units // each)


def _first_name(value: str) -> str:
    return (value or wording.NO_FIRST_NAME)[:FIRST_NAME_MAX].strip() or wording.NO_FIRST_NAME


def compose(*, source: str, names: dict[str, str], link: str) -> str:
    """The message: the staff text for these first names, the link, the opt-out line."""
    text = templating.render_text(source, dict(names))
    return " ".join(text.split()) + f" {link}\n{OPT_OUT_LINE}"


def render_sms(
    *, source: str, first_name: str, send_id: int, manager_first_name: str | None = None
) -> str:
    """The text message for one send, in at most :data:`MAX_SEGMENTS` segments; with
    ``manager_first_name``, a nudge to that manager about the learner ``first_name``."""
    link = links.click_url(send_id)
    names = {"first_name": _first_name(first_name)}
    if manager_first_name is not None:
        names["manager_first_name"] = _first_name(manager_first_name)
    text = compose(source=source, names=names, link=link)
    if segments(text) > MAX_SEGMENTS:
        # Only a name outside the GSM alphabet can do this; the check at save covers the rest.
        plain = dict.fromkeys(names, wording.NO_FIRST_NAME)
        text = compose(source=source, names=plain, link=link)
    return text


def sms_problem(source: str, *, to_manager: bool = False) -> str | None:
    """Why ``source`` cannot be an SMS step's text (``to_manager``: its text to the manager),
    or None: it must parse, use no variable but the first names, and fit two segments with the
    longest names and link."""
    allowed = MANAGER_VARIABLES if to_manager else VARIABLES
    if to_manager and not source.strip():
        return "an SMS step to the manager needs its text message to the manager"
    if not source.strip():
        return "an SMS step needs its text message"
    try:
        templating.validate_template(source, field="text message")
    except ValidationError as exc:
        return "; ".join(exc.messages)
    others = sorted(templating.variables_used(source) - set(allowed))
    if others:
        names = " and ".join(f"{{{{ {name} }}}}" for name in allowed)
        return (
            f"a text message may use only {names}, no other personal data "
            f"(found: {', '.join(others)})"
        )
    worst = compose(
        source=source,
        names=dict.fromkeys(allowed, "W" * FIRST_NAME_MAX),
        link=links.click_url(_LONGEST_SEND_ID),
    )
    if segments(worst) > MAX_SEGMENTS:
        return (
            f"the text message can take {segments(worst)} SMS segments with a long first name, "
            f"the link and “{OPT_OUT_LINE}”; at most {MAX_SEGMENTS} are allowed, so shorten it"
            + ("" if is_gsm(worst) else " or leave out characters such as emoji")
        )
    return None


def render_digest_sms(*, values: dict[str, str | int], manager_first_name: str, link: str) -> str:
    """The weekly digest as a text message: the team's counts and completion rate (no one's
    name but the manager's first name) and the link to the digest's page, in at most
    :data:`MAX_SEGMENTS` segments: the name, then the rate, are left out if it would not
    fit."""
    subject = str(values["subject"])
    rate = f" Team completion rate: {values['team_rate']}."
    name = _first_name(manager_first_name)
    for greeting, extra in ((f"Hi {name}, ", rate), ("", rate), ("", "")):
        head = f"{greeting}{subject[:1].lower() if greeting else subject[:1]}{subject[1:]}."
        text = f"{head}{extra} See them and act: {link}\n{OPT_OUT_LINE}"
        if segments(text) <= MAX_SEGMENTS:
            return text
    return text
