"""Settings read from the environment (see .env.example for every variable)."""
from __future__ import annotations

import os
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("HOCKEYOPS_VAR_DIR", BASE_DIR / "var"))
# Everything the embedded default writes lives here; a fresh clone has no var/ yet, so create it before use.
VAR_DIR.mkdir(parents=True, exist_ok=True)


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "dev-only-not-secret-change-me")
DEBUG = _env_bool("DJANGO_DEBUG", False)  # off unless asked for: error pages never show settings to visitors
ALLOWED_HOSTS = [h for h in os.environ.get("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1").split(",") if h]

INSTALLED_APPS = [
    "jobs.sites.ConsoleAdminConfig",  # django.contrib.admin with the console's own AdminSite
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_celery_beat",
    "jobs",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",  # the admin's static files under gunicorn and runserver alike
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "hockeyops.urls"
WSGI_APPLICATION = "hockeyops.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
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

# DATABASE_URL: postgresql://user@host/db in production; a SQLite file in var/ by default.
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'hockeyops.sqlite3'}",
        conn_max_age=int(os.environ.get("HOCKEYOPS_DB_CONN_MAX_AGE", "60")),
        conn_health_checks=True,  # a connection the server dropped is replaced, not reused into an error
    )
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3") and DATABASES["default"]["NAME"] not in ("", ":memory:"):
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)  # SQLite creates files, not folders

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("TZ_NAME", "UTC")
USE_I18N = True
USE_TZ = True
FORMAT_MODULE_PATH = ["hockeyops.formats"]  # times with seconds everywhere in the console
STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("HOCKEYOPS_STATIC_ROOT", VAR_DIR / "static"))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
WHITENOISE_USE_FINDERS = True  # serve app static files without collectstatic (the Docker image still collects them)

# Request limits: bodies larger than this are refused before they are parsed (the staging upload has its own).
DATA_UPLOAD_MAX_MEMORY_SIZE = int(os.environ.get("HOCKEYOPS_MAX_BODY_BYTES", str(1_000_000)))
DATA_UPLOAD_MAX_NUMBER_FIELDS = 5000
FILE_UPLOAD_MAX_MEMORY_SIZE = 10_000_000

CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "hockeyops"}}
# /api/health: answers are cached this long, and one client may ask this often per minute.
HOCKEYOPS_HEALTH_CACHE_SECONDS = float(os.environ.get("HOCKEYOPS_HEALTH_CACHE_SECONDS", "10"))
HOCKEYOPS_HEALTH_RATE_PER_MINUTE = int(os.environ.get("HOCKEYOPS_HEALTH_RATE_PER_MINUTE", "60"))

# Celery: Redis broker in production; empty means tasks run in-process (the embedded default).
CELERY_TASK_ALWAYS_EAGER = not os.environ.get("CELERY_BROKER_URL")
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL") or "memory://"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = TIME_ZONE

# League inputs and ETL outputs.
HOCKEYOPS_DATA_DIR = Path(os.environ.get("HOCKEYOPS_DATA_DIR", BASE_DIR / "data" / "sample_league"))
HOCKEYOPS_OUTPUT_DIR = Path(os.environ.get("HOCKEYOPS_OUTPUT_DIR", VAR_DIR / "output"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}

# Run execution.
HOCKEYOPS_ARTIFACTS_DIR = Path(os.environ.get("HOCKEYOPS_ARTIFACTS_DIR", VAR_DIR / "artifacts"))
HOCKEYOPS_RUNS_DIR = Path(os.environ.get("HOCKEYOPS_RUNS_DIR", VAR_DIR / "runs"))
HOCKEYOPS_HEARTBEAT_SECONDS = float(os.environ.get("HOCKEYOPS_HEARTBEAT_SECONDS", "5"))
HOCKEYOPS_WORKER_LOST_SECONDS = float(os.environ.get("HOCKEYOPS_WORKER_LOST_SECONDS", "45"))
HOCKEYOPS_REQUEUE_AFTER_SECONDS = float(os.environ.get("HOCKEYOPS_REQUEUE_AFTER_SECONDS", "120"))
HOCKEYOPS_PROGRESS_INTERVAL = float(os.environ.get("HOCKEYOPS_PROGRESS_INTERVAL", "0.5"))
HOCKEYOPS_RUN_LOG_DB_LIMIT = int(os.environ.get("HOCKEYOPS_RUN_LOG_DB_LIMIT", "2000"))
# ETL runs over at least this many games to build fan out into per-game Celery tasks (0 = never).
# A sync that would shrink a table by more than this fraction (or remove any game's rows) needs an explicit allow.
HOCKEYOPS_SYNC_MAX_SHRINK = float(os.environ.get("HOCKEYOPS_SYNC_MAX_SHRINK", "0.10"))
# A target lease whose holder sent no heartbeat for this long (or whose process is gone) is taken over.
HOCKEYOPS_LEASE_STALE_SECONDS = float(os.environ.get("HOCKEYOPS_LEASE_STALE_SECONDS", "45"))
# A worker's Run whose target is busy is sent again after this many seconds (it does not hold a worker slot).
HOCKEYOPS_WAIT_RETRY_SECONDS = float(os.environ.get("HOCKEYOPS_WAIT_RETRY_SECONDS", "2"))
HOCKEYOPS_FANOUT_MIN_GAMES = int(os.environ.get("HOCKEYOPS_FANOUT_MIN_GAMES", "8"))

CELERY_BEAT_SCHEDULE = {
    "hockeyops-reap-runs": {"task": "jobs.tasks.reap_runs", "schedule": 30.0},
}

# The embedded target: a PostgreSQL started on demand with its data folder here.
HOCKEYOPS_EMBEDDED_PG_DIR = Path(os.environ.get("HOCKEYOPS_EMBEDDED_PG_DIR", VAR_DIR / "embedded-pg"))
