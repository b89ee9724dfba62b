"""Settings, read from environment variables.

With no variables set the product runs on SQLite, a filesystem Celery broker and a file email
backend under ``var/``, so a newcomer needs no servers. In production set ``DATABASE_URL``
(PostgreSQL), ``CELERY_BROKER_URL`` (Redis) and an anymail ESP (``EMAIL_BACKEND`` + ``ANYMAIL_*``).
A bad value stops start-up with a message that names the variable.
"""

from __future__ import annotations

import ipaddress
import json
import os
import zoneinfo
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}") from None


def env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, not {raw!r}") from None


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_json(name: str) -> dict[str, Any]:
    raw = os.environ.get(name, "")
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ImproperlyConfigured(f"{name} must be a JSON object: {exc}") from None
    if not isinstance(value, dict):
        raise ImproperlyConfigured(f"{name} must be a JSON object")
    return value


def is_local_host(host: str) -> bool:
    """localhost, *.localhost, a loopback or unspecified address (127.0.0.1, ::1, 0.0.0.0)."""
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


# Off unless turned on: `make run`, the Procfile and the test suite turn it on for local work.
DEBUG = env_bool("DEBUG", False)
DEVELOPMENT_SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production"  # noqa: S105
SECRET_KEY = env_str("SECRET_KEY") or (DEVELOPMENT_SECRET_KEY if DEBUG else "")
# Old keys still verify signed links (unsubscribe links must work for months after a rotation).
SECRET_KEY_FALLBACKS = env_list("SECRET_KEY_FALLBACKS", [])
# Keys the hash of erased addresses (learners/erasure.py); empty: SECRET_KEY and its fallbacks.
ERASURE_HASH_KEY = env_str("ERASURE_HASH_KEY")
LOCAL_HOSTS = ["localhost", "127.0.0.1", "[::1]", "testserver"]
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", LOCAL_HOSTS)
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
PUBLIC_BASE_URL = env_str("PUBLIC_BASE_URL", "http://localhost:8000").rstrip("/")


def production_problems() -> list[str]:
    """What makes these settings unfit to serve learners with DEBUG off, each naming its
    variable; empty when nothing does."""
    problems: list[str] = []
    if not SECRET_KEY:
        problems.append("SECRET_KEY is required when DEBUG is off")
    elif SECRET_KEY == DEVELOPMENT_SECRET_KEY:
        problems.append(
            "SECRET_KEY is the development key from the source code; set a long random one"
        )
    if DEVELOPMENT_SECRET_KEY in SECRET_KEY_FALLBACKS:
        # Anyone could sign links with it: unsubscribe others, forge clicks.
        problems.append("SECRET_KEY_FALLBACKS holds the development key from the source code")
    base = urlsplit(PUBLIC_BASE_URL)
    if base.scheme != "https":
        problems.append(
            f"PUBLIC_BASE_URL must be an https:// URL when DEBUG is off, not {PUBLIC_BASE_URL!r}"
        )
    elif is_local_host(base.hostname or "localhost"):
        problems.append(
            f"PUBLIC_BASE_URL points at this machine ({PUBLIC_BASE_URL!r}); set the public "
            "address the links in emails lead to"
        )
    if "ALLOWED_HOSTS" not in os.environ or ALLOWED_HOSTS == LOCAL_HOSTS:
        problems.append(
            "ALLOWED_HOSTS must name this site's host names when DEBUG is off "
            "(it is left at its local default)"
        )
    return problems


if not DEBUG and (_problems := production_problems()):
    raise ImproperlyConfigured("; ".join(_problems))
# Where a CTA leads when a learner has no course deep link.
LMS_URL = env_str("LMS_URL", "https://lms.example.com/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_celery_beat",
    "import_export",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "anymail",
    "axes",
    "learners",
    "campaigns",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # ESP webhooks (/anymail/…): store a post's events in one statement, 401/403 on bad
    # credentials, the SNS topic allow-list.
    "campaigns.feedback.esp_events.EspWebhookMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into its own answer.
    "axes.middleware.AxesMiddleware",
]

# Failed admin logins are counted by django-axes per username and per address: after
# AXES_FAILURE_LIMIT in a row the username is locked for AXES_COOLOFF_HOURS from any address
# (guessing one password from many machines gains nothing), and so is an address trying many
# usernames. `python manage.py axes_reset_username NAME` / `axes_reset_ip IP` unlock early.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = env_int("AXES_COOLOFF_HOURS", 1)
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
# How many proxies in front append to X-Forwarded-For; 0 trusts only the connection's address.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)
AXES_CLIENT_IP_CALLABLE = "reengagement.client_ip.client_ip"

ROOT_URLCONF = "reengagement.urls"
WSGI_APPLICATION = "reengagement.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}")
try:
    _db = dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 0))
except ValueError as exc:
    raise ImproperlyConfigured(f"DATABASE_URL is not a database URL Django knows: {exc}") from None
if _db["ENGINE"] == "django.db.backends.sqlite3":
    # A worker, beat and the web process share the file: wait for locks instead of failing.
    _db.setdefault("OPTIONS", {}).update({"timeout": 30, "transaction_mode": "IMMEDIATE"})
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
try:
    zoneinfo.ZoneInfo(TIME_ZONE)
except (zoneinfo.ZoneInfoNotFoundError, ValueError):
    raise ImproperlyConfigured(f"TIME_ZONE {TIME_ZONE!r} is not an IANA time zone") from None
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(VAR_DIR / "staticfiles")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
# Without collectstatic (development, tests) WhiteNoise serves straight from the app folders.
WHITENOISE_USE_FINDERS = env_bool("WHITENOISE_USE_FINDERS", DEBUG)

# Email: a file per message batch under var/mail/ by default; any anymail ESP in production,
# e.g. EMAIL_BACKEND=anymail.backends.postmark.EmailBackend
# and ANYMAIL='{"POSTMARK_SERVER_TOKEN": "…"}'.
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.filebased.EmailBackend")
EMAIL_FILE_PATH = env_str("EMAIL_FILE_PATH", str(VAR_DIR / "mail"))
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 30)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Learning Team <learning@example.com>")
# The mailto: half of List-Unsubscribe; empty leaves only the one-click URL.
UNSUBSCRIBE_MAILTO = env_str("UNSUBSCRIBE_MAILTO", "unsubscribe@example.com")
ANYMAIL: dict[str, Any] = env_json("ANYMAIL")
# Basic auth for the ESP tracking webhooks, "user:password"; two, comma-separated, while
# rotating (anymail accepts any of them). Overrides ANYMAIL's own WEBHOOK_SECRET when set.
_webhook_secrets = env_list("WEBHOOK_SECRET", [])
if _webhook_secrets:
    ANYMAIL["WEBHOOK_SECRET"] = _webhook_secrets
# Amazon SNS topics whose notifications (and subscription confirmations) are accepted;
# empty accepts any topic that knows the webhook secret.
AMAZON_SES_SNS_TOPIC_ARNS = env_list("AMAZON_SES_SNS_TOPIC_ARNS", [])

# What comes back. Soft bounces suppress an address after SOFT_BOUNCE_LIMIT within
# SOFT_BOUNCE_WINDOW_DAYS; hard bounces and complaints at once.
SOFT_BOUNCE_LIMIT = env_int("SOFT_BOUNCE_LIMIT", 3)
SOFT_BOUNCE_WINDOW_DAYS = env_int("SOFT_BOUNCE_WINDOW_DAYS", 14)
# Sender-side refusals (5.7.x/4.7.x) never suppress; this many within the window pause the
# campaign.
SENDER_PROBLEM_PAUSE_AFTER = env_int("SENDER_PROBLEM_PAUSE_AFTER", 3)
SENDER_PROBLEM_WINDOW_HOURS = env_int("SENDER_PROBLEM_WINDOW_HOURS", 24)
# Campaign rates over the mail sent in the last GUARDRAIL_WINDOW_DAYS, once at least
# GUARDRAIL_MIN_VOLUME emails went out (fractions: 0.003 is 0.3%).
GUARDRAIL_WINDOW_DAYS = env_int("GUARDRAIL_WINDOW_DAYS", 7)
GUARDRAIL_MIN_VOLUME = env_int("GUARDRAIL_MIN_VOLUME", 500)
COMPLAINT_RATE_WARN = env_float("COMPLAINT_RATE_WARN", 0.001)
COMPLAINT_RATE_PAUSE = env_float("COMPLAINT_RATE_PAUSE", 0.003)
HARD_BOUNCE_RATE_PAUSE = env_float("HARD_BOUNCE_RATE_PAUSE", 0.05)
# A worker recounts a campaign's rates at most this often while applying events; the pass
# recounts those put off. The throttle is shared through the cache: set CACHE_URL
# (redis://…) when workers run in more than one process.
GUARDRAIL_CHECK_SECONDS = env_int("GUARDRAIL_CHECK_SECONDS", 60)
CACHE_URL = env_str("CACHE_URL")
if CACHE_URL and not CACHE_URL.startswith(("redis://", "rediss://")):
    raise ImproperlyConfigured(f"CACHE_URL must be a redis:// URL, not {CACHE_URL!r}")
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}
    if CACHE_URL
    else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
}
# A click this soon after the message went out is a link scanner's, not a person's.
BOT_CLICK_SECONDS = env_int("BOT_CLICK_SECONDS", 10)

# Celery: a filesystem broker under var/broker by default, Redis in production.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://")
_broker_dir = VAR_DIR / "broker"
if CELERY_BROKER_URL.startswith("filesystem://"):
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, Any] = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
else:
    # Longer than any task runs, so a slow task is not handed to a second worker.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
# A task whose worker dies is given to another worker; delivery claims rows, so this never
# sends a message twice.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)

# The time zone of a manager whose own is not known, for the weekly team digest.
MANAGER_DEFAULT_TIME_ZONE = env_str("MANAGER_DEFAULT_TIME_ZONE", TIME_ZONE)
try:
    zoneinfo.ZoneInfo(MANAGER_DEFAULT_TIME_ZONE)
except (zoneinfo.ZoneInfoNotFoundError, ValueError):
    raise ImproperlyConfigured(
        f"MANAGER_DEFAULT_TIME_ZONE {MANAGER_DEFAULT_TIME_ZONE!r} is not an IANA time zone"
    ) from None

# How many send ids one delivery task carries: one task per send costs more than the send.
DELIVERY_BATCH_SIZE = env_int("DELIVERY_BATCH_SIZE", 200)
# Delivery records outcomes every this many emails: a worker killed mid-batch leaves at most
# this many "unconfirmed" (maybe sent); the rest of its batch stays queued for another worker.
DELIVERY_RECORD_EVERY = env_int("DELIVERY_RECORD_EVERY", 25)
# At most this many lost or retried queued sends are handed to delivery again per pass.
REHAND_MAX_PER_PASS = env_int("REHAND_MAX_PER_PASS", 20_000)

# Awards pushed to the LMS (campaigns/delivery/awards.py): a JSON POST signed with HMAC-SHA256
# under the secret. No URL: awards are recorded and shown, not pushed, and no email promises
# that they show on the learner's profile.
AWARD_WEBHOOK_URL = env_str("AWARD_WEBHOOK_URL")
AWARD_WEBHOOK_SECRET = env_str("AWARD_WEBHOOK_SECRET")
if AWARD_WEBHOOK_URL and not AWARD_WEBHOOK_SECRET:
    raise ImproperlyConfigured("AWARD_WEBHOOK_SECRET is required when AWARD_WEBHOOK_URL is set")
if AWARD_WEBHOOK_URL and urlsplit(AWARD_WEBHOOK_URL).scheme not in ("http", "https"):
    raise ImproperlyConfigured(
        f"AWARD_WEBHOOK_URL must be an http(s) URL, not {AWARD_WEBHOOK_URL!r}"
    )
AWARD_PUSH_TIMEOUT = env_float("AWARD_PUSH_TIMEOUT", 10.0)
AWARD_PUSH_MAX_ATTEMPTS = env_int("AWARD_PUSH_MAX_ATTEMPTS", 8)
# A push claimed this long ago and never finished (a worker died) is handed over again.
AWARD_PUSH_STALE_SECONDS = env_int("AWARD_PUSH_STALE_SECONDS", 600)
AWARD_PUSH_BATCH = env_int("AWARD_PUSH_BATCH", 500)
# The pass has a queue of its own, so it never waits behind a backlog of delivery tasks; a
# worker consumes both (celery -A reengagement worker -Q celery,pass).
CELERY_TASK_ROUTES = {"campaigns.tasks.run_pass": {"queue": "pass"}}
# How often beat runs the evaluation pass, when it first creates the schedule.
PASS_INTERVAL_MINUTES = env_int("PASS_INTERVAL_MINUTES", 5)

# Channels besides email. Each provider's base URL is a setting, so staging and tests point at
# a fake; a step on a channel whose settings are missing is refused at launch.
# Slack: a bot token (xoxb-…) with chat:write, im:write and users:read.email.
SLACK_BOT_TOKEN = env_str("SLACK_BOT_TOKEN")
SLACK_API_BASE_URL = env_str("SLACK_API_BASE_URL", "https://slack.com/api/")
# Twilio: the account, its auth token (signs the webhooks too), and the sender (a number in
# E.164 or a Messaging Service SID, MG…).
TWILIO_ACCOUNT_SID = env_str("TWILIO_ACCOUNT_SID")
TWILIO_AUTH_TOKEN = env_str("TWILIO_AUTH_TOKEN")
TWILIO_FROM = env_str("TWILIO_FROM")
TWILIO_API_BASE_URL = env_str("TWILIO_API_BASE_URL", "https://api.twilio.com")
# Numbers typed without a country code are read as numbers of this region (ISO 3166, "DE").
PHONE_DEFAULT_REGION = env_str("PHONE_DEFAULT_REGION", "")
# Microsoft Teams needs no account settings: each team's Workflows webhook URL is kept in
# the admin (Teams channels).
# One HTTP timeout for every chat and SMS provider call, in seconds.
CHANNEL_HTTP_TIMEOUT = env_int("CHANNEL_HTTP_TIMEOUT", 15)

# Activity in the LMSs' standards (xAPI, Caliper, Moodle events): the largest request body
# and the most statements one request may carry; an LMS sends more in more requests.
LMS_MAX_BODY_BYTES = env_int("LMS_MAX_BODY_BYTES", 5_000_000)
LMS_MAX_STATEMENTS = env_int("LMS_MAX_STATEMENTS", 1000)
# The JWK set whose keys sign Canvas Live Events (Caliper, "Sign Payload" on), as JSON:
# {"keys": [...]}. Canvas rotates them monthly and publishes previous, current and next.
CALIPER_JWKS = env_json("CALIPER_JWKS")
if CALIPER_JWKS and not isinstance(CALIPER_JWKS.get("keys"), list):
    raise ImproperlyConfigured('CALIPER_JWKS must be a JWK set: {"keys": [...]}')
# Where that set is published (fetched, and kept an hour, when a JWT names a key not above).
CALIPER_JWKS_URL = env_str("CALIPER_JWKS_URL")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.TokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Re-engagement activity API",
    "DESCRIPTION": "The LMS pushes learner activity here; see README.md.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}

# HTTPS. Behind a TLS proxy Django learns that a request came over https from one header the
# proxy sets (and must strip from what clients send); empty turns the header off.
_proxy_header = env_str("SECURE_PROXY_SSL_HEADER", "" if DEBUG else "HTTP_X_FORWARDED_PROTO")
_proxy_header = _proxy_header.strip().upper().replace("-", "_")
if _proxy_header and not _proxy_header.startswith("HTTP_"):
    _proxy_header = f"HTTP_{_proxy_header}"
SECURE_PROXY_SSL_HEADER = (_proxy_header, "https") if _proxy_header else None
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
# HSTS is remembered by browsers for its whole duration, and with subdomains or preload for
# every site on the domain: it is turned on deliberately, never by default.
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)


# django-import-export: a bad row never rolls back the good ones (rows are reported instead).
IMPORT_EXPORT_USE_TRANSACTIONS = True
IMPORT_EXPORT_SKIP_ADMIN_LOG = True
IMPORT_EXPORT_IMPORT_PERMISSION_CODE = "add"
IMPORT_EXPORT_EXPORT_PERMISSION_CODE = "view"
