"""Copy the product writes itself (welcome back, the manager's hand-off, the manager's button
and ready-to-send line), and the stand-ins it puts in place of data a learner does not have.

Staff copy (the blueprint's included) branches on the ``KNOWN_*`` conditions so that a
stand-in never reads as a name ("Next up: the next module"), and claims nothing it does not
know: no "0 minutes", no "0% done", no "Hi ,".
"""

from __future__ import annotations

# What a template sees in place of a value the learner's data lacks.
NO_FIRST_NAME = "there"
NO_COURSE = "your course"
NO_LAST_MODULE = "the last module"
NO_NEXT_MODULE = "the next module"

KNOWN_FIRST_NAME = f'first_name != "{NO_FIRST_NAME}"'
KNOWN_COURSE = f'course_title != "{NO_COURSE}"'
KNOWN_LAST_MODULE = f'last_module != "{NO_LAST_MODULE}"'
KNOWN_NEXT_MODULE = f'next_module != "{NO_NEXT_MODULE}"'


def if_known(condition: str, then: str, otherwise: str = "") -> str:
    """``{% if condition %}then{% else %}otherwise{% endif %}``, for readable copy."""
    if not otherwise:
        return f"{{% if {condition} %}}{then}{{% endif %}}"
    return f"{{% if {condition} %}}{then}{{% else %}}{otherwise}{{% endif %}}"


# A learner named by their first name, else by their full name (or, lacking one, email).
LEARNER_NAME = if_known(KNOWN_FIRST_NAME, "{{ first_name }}", "{{ full_name }}")
MANAGER_GREETING = if_known("manager_first_name", "Hi {{ manager_first_name }},", "Hello,")

WELCOME_BACK_SUBJECT = "Welcome back" + if_known(KNOWN_FIRST_NAME, ", {{ first_name }}") + "!"
WELCOME_BACK_BODY = (
    "Hi {{ first_name }},\n\n"
    + if_known(KNOWN_COURSE, "Good to see you back in {{ course_title }}.", "Good to see you back.")
    + if_known(
        KNOWN_NEXT_MODULE,
        " Keep the momentum: {{ next_module }} is next.",
        " Keep the momentum going.",
    )
)

# The manager's button: a ready-to-send email to their report.
MANAGER_CTA_LABEL = "Send " + LEARNER_NAME + " a note"
HANDOFF_SUBJECT = (
    LEARNER_NAME
    + " hasn't returned to "
    + if_known(KNOWN_COURSE, "{{ course_title }}", "their course")
)
HANDOFF_BODY = (
    MANAGER_GREETING
    + "\n\n{{ full_name }} paused "
    + if_known(KNOWN_COURSE, "{{ course_title }}", "their course")
    + if_known(KNOWN_LAST_MODULE, " after {{ last_module }}")
    + " and hasn't come back after our reminders. We've stopped emailing them. "
    "A personal word from you, or a mentor, is the best next step."
)
HANDOFF_SCRIPT = (
    "Hi "
    + if_known(KNOWN_FIRST_NAME, "{{ first_name }}", "{{ full_name }}")
    + ", I noticed you paused "
    + if_known(KNOWN_COURSE, "{{ course_title }}", "your learning")
    + if_known(KNOWN_LAST_MODULE, " after {{ last_module }}")
    + ". Is anything in the way? Could you finish it by {{ finish_by }}?"
)
# The subject of the manager's ready-to-send email when the course is not known.
MANAGER_NOTE_SUBJECT = "Your learning"

# The digest's ready-to-send note to a report who came back this week.
RETURNED_SCRIPT = (
    "Hi "
    + if_known(KNOWN_FIRST_NAME, "{{ first_name }}", "{{ full_name }}")
    + ", great to see you back in "
    + if_known(KNOWN_COURSE, "{{ course_title }}", "your learning")
    + ". Anything I can do to help you finish it by {{ finish_by }}?"
)
