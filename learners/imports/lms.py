"""The columns of the usual LMS user exports, and what each feeds.

Taken from the exports themselves:

- Moodle: the user upload/download columns (``username``, ``firstname``, ``lastname``,
  ``email``, ``idnumber``, ``institution``, ``department``, ``lang``, ``timezone``) and custom
  profile fields as ``profile_field_<shortname>``; a time zone of ``99`` means "the site's
  default".
- Totara: the HR import user source (``idnumber``, ``username``, ``firstname``, ``lastname``,
  ``email``, ``timezone``, ``lang``, ``institution``, ``department``) and custom fields as
  ``customfield_<shortname>``.
- Canvas: the users provisioning report (``canvas_user_id``, ``user_id`` (the SIS id),
  ``login_id``, ``first_name``, ``last_name``, ``full_name``, ``sortable_name``, ``email``,
  ``status``).
- Open edX: the instructor dashboard's student profile CSV (``id``, ``username``, ``name``,
  ``email``, ``language``, ``location``, ``cohort``, ``team``, ``last_login``).

The learner's LMS id is the one the LMS's own events name: the Canvas user id, otherwise the
username (Moodle, Totara, Open edX). Role, team and manager come from custom profile fields
named ``role``, ``team`` and ``manager_email``/``manager`` (and ``manager_name``); other
names are mapped once per source in the admin.
"""

from __future__ import annotations

# Moodle stores "99" for "use the site's default time zone": the learner keeps ours.
MOODLE_SITE_DEFAULT_ZONE = "99"


def _custom(*names: str) -> tuple[str, ...]:
    """A custom profile field as Moodle (``profile_field_x``) and Totara (``customfield_x``)
    export it."""
    return tuple(
        f"{prefix}{name}" for name in names for prefix in ("profile_field_", "customfield_")
    )


LMS_LEARNER_COLUMNS: dict[str, tuple[str, ...]] = {
    "external_id": ("canvas_user_id", "username", "user_id", "id"),
    "email": ("email_address", "mail"),
    "first_name": ("firstname", "given_name"),
    "last_name": ("lastname", "surname", "family_name"),
    "full_name": ("name",),
    "role": _custom("role", "jobtitle"),
    "team": (*_custom("team", "department"), "department", "institution"),
    "manager_email": _custom("manager_email", "manageremail", "manager"),
    "manager_name": _custom("manager_name", "managername"),
    "manager_time_zone": _custom("manager_time_zone", "managertimezone"),
    "time_zone": ("timezone",),
    "locale": ("lang", "language"),
    "last_active_at": ("last_login",),
}
