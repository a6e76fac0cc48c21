"""The one settings module. Everything that differs between a laptop and production comes from the
environment; with nothing set, the app runs on SQLite and an embedded broker under ``var/``.

See README.md ("Configuration") for the variables and what production needs.
"""

import os
import secrets
from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

VAR_DIR = Path(env.str("VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def _local_secret_key() -> str:
    # A laptop should not need configuration, but a key committed to the repo would be a shared secret.
    # Generate one per checkout and keep it so sessions survive restarts.
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


DEBUG = env.bool("DEBUG", default=False)
LOCAL_HOSTS = ["localhost", "127.0.0.1", "[::1]"]
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=LOCAL_HOSTS)
HTTPS = env.bool("HTTPS", default=False)
# A deployment (DEBUG off and HTTPS on, or serving a name other than this machine) must be given its
# key: one generated into var/ would differ between web machines and vanish with a fresh volume,
# logging everyone out and invalidating every reset link. A laptop needs nothing.
DEPLOYED = not DEBUG and (HTTPS or any(host not in LOCAL_HOSTS for host in ALLOWED_HOSTS))
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if DEPLOYED:
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Production settings (DEBUG=false with HTTPS=true or ALLOWED_HOSTS="
            f"{','.join(ALLOWED_HOSTS)}) need SECRET_KEY in the environment: at least 50 random characters, the "
            "same on every web and worker machine, e.g. python3 -c 'import secrets; print(secrets.token_urlsafe(50))'."
        )
    SECRET_KEY = _local_secret_key()
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# Behind TLS (production) every cookie is secure and plain HTTP is redirected; off by default so a
# laptop and the test live server work over http://127.0.0.1.
SECURE_SSL_REDIRECT = HTTPS
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365 if HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
BEHIND_PROXY = env.bool("BEHIND_PROXY", default=False)
if BEHIND_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# How many proxies of ours append to X-Forwarded-For: the client address (audit trail, login lockouts)
# is the entry the outermost one wrote (accounts/audit.py), never one the client could.
PROXY_COUNT = env.int("PROXY_COUNT", default=1 if BEHIND_PROXY else 0)
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

INSTALLED_APPS = [
    "accounts",
    "leaderboard",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "template_partials",
    "axes",
    "csp",
]

MIDDLEWARE = [
    "leaderboard.logs.RequestLog",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # A session past its idle or absolute limit is logged out here, before any view (and so before
    # the login requirement, which checks in process_view) sees it.
    "accounts.sessions.SessionLimitsMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "leaderboard.response_headers.PrivateResponsesMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "leaderboard.urls"
WSGI_APPLICATION = "leaderboard.wsgi.application"

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
                "leaderboard.navigation.navigation",
            ],
        },
    }
]
# Form widgets drawn by their Jinja2 templates where Django has them (leaderboard/renderers.py).
FORM_RENDERER = "leaderboard.renderers.FormRenderer"

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        # The web server, the worker and beat write to the same file: WAL lets readers go on while an
        # import commits, IMMEDIATE takes the write lock up front instead of failing mid-transaction,
        # and the timeout waits for a long import rather than raising "database is locked".
        "transaction_mode": "IMMEDIATE",
        "timeout": 60,
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; "
            # 64 MB of page cache: imports update large indexes, boards scan a year of rollups.
            "PRAGMA cache_size=-65536;"
        ),
    }
    # Tests get a file-backed database so that a Celery worker process can share it; one per test
    # run (pid), so that two runs side by side don't destroy each other's.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-db-{os.getpid()}.sqlite3")}
# Reuse connections across requests (opening one, and its PRAGMAs, costs more than a cached page).
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.Person"
# Sessions live in the database only: with the cache in front of them a Redis outage answered every
# page and every login with a 500, and a logout whose cache write failed would leave the session
# alive in the cache. One indexed read per request.
SESSION_ENGINE = "django.contrib.sessions.backends.db"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "board"
LOGOUT_REDIRECT_URL = "login"
AUTHENTICATION_BACKENDS = [
    # First: refuses every login attempt of a locked-out account or address before a password is checked.
    "axes.backends.AxesStandaloneBackend",
    "accounts.backends.PasswordBackend",  # off with PASSWORD_LOGIN=false
    "accounts.sso.RosterOIDCBackend",  # inert until OIDC_CLIENT_ID is set
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"  # Usage days are UTC days everywhere (design.md §2).
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(VAR_DIR / "staticfiles")))
MEDIA_URL = "media/"
# Raw exports live here for good: nothing a user uploads or a provider sends is thrown away.
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG and env.bool("MANIFEST_STATIC", default=True)
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# ``make run`` serves static/ as it is with DEBUG off (bin/run sets STATIC_FROM_SOURCE).
WHITENOISE_USE_FINDERS = env.bool("STATIC_FROM_SOURCE", default=DEBUG)
WHITENOISE_AUTOREFRESH = WHITENOISE_USE_FINDERS

REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            # A miss, not an error, while Redis is out of reach (leaderboard/redis_cache.py); and out of
            # reach quickly, not after the operating system's connect timeout.
            "BACKEND": "leaderboard.redis_cache.ForgivingRedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 2},
        }
    }
else:
    # Shared between the web server and the worker (import progress), so not per-process memory.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
            # Boards cache a handful of entries per person page; the default 300 would churn.
            "OPTIONS": {"MAX_ENTRIES": 20_000},
        }
    }

EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="AI token leaderboard <leaderboard@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")

# --- Celery -------------------------------------------------------------------------------------
# Imports can take minutes; everything below exists so that a killed worker, a Redis restart or a
# deploy never loses or half-applies one.
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
else:
    # Zero set-up: a broker made of files under var/, shared by `runserver`, the worker and beat.
    CELERY_BROKER_URL = "filesystem://localhost//"
    _broker_dir = VAR_DIR / "broker"
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        # The exchanges' table: under var/ too, not in whatever folder the process started in.
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
IMPORT_TIME_LIMIT = env.int("IMPORT_TIME_LIMIT", default=60 * 60)
if REDIS_URL:
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # Redis re-delivers an unacknowledged message after this long. It must outlast the longest
        # task (acks are late), or a healthy long import would be started a second time.
        "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=IMPORT_TIME_LIMIT + 15 * 60),
    }
# Workers log through LOGGING below (one key=value line per task), not Celery's own format.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TASK_IGNORE_RESULT = True  # Outcomes live on rows (UsageExport.status), not in a result backend.
# Acknowledge after the task returns: a worker killed mid-import leaves the message on the broker, so
# it is delivered again. Safe because every task is idempotent (claims a row, replace-upserts).
CELERY_TASK_ACKS_LATE = True
# Without this a task whose worker process died (OOM, SIGKILL) is acknowledged as failed and lost.
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# One message at a time per process: a long import must not sit on a second one that another
# worker could be running.
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Below the visibility timeout, so a stuck import is killed (and retried by the sweep) before Redis
# hands its message to another worker.
CELERY_TASK_TIME_LIMIT = IMPORT_TIME_LIMIT
CELERY_TASK_SOFT_TIME_LIMIT = IMPORT_TIME_LIMIT - 60
# An import writes to the database, not to the broker: when Redis goes away mid-import it carries on
# and commits (tests/test_faults.py). Cancelling it, as this setting would, threw the work away and
# left the export to the sweep.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_QUEUE", default="leaderboard")
# One queue by default. Separated, imports, syncs, telemetry, notifications and the rest get queues
# of their own, so that a long import never delays an email or today's telemetry, and each kind of
# work can have workers of its own (README, "Running it in production").
if env.bool("CELERY_SEPARATE_QUEUES", default=False):
    CELERY_TASK_ROUTES = {
        "leaderboard.tasks.import_export": {"queue": "imports"},
        # A sync waits on a provider for minutes at a time (and imports its answers in-process).
        "leaderboard.tasks.sync_connection": {"queue": "syncs"},
        # Every few seconds, all day: never behind a million-row import.
        "leaderboard.tasks.fold_telemetry": {"queue": "telemetry"},
        "leaderboard.tasks.send_notification": {"queue": "notifications"},
        "leaderboard.tasks.send_digests": {"queue": "notifications"},
    }
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    # Re-enqueue exports whose message was lost (Redis flushed) or whose worker died past its lease.
    # Often: a dead worker's import is taken over within a minute (its heartbeat goes silent).
    "sweep-stalled-imports": {"task": "leaderboard.tasks.sweep_imports", "schedule": timedelta(seconds=15)},
    # Telemetry batches are folded as they arrive; this catches any whose message was lost.
    "fold-telemetry": {"task": "leaderboard.tasks.fold_telemetry", "schedule": timedelta(seconds=60)},
    # After the night's provider exports have landed, and before managers start their day (UTC).
    "evaluate-flags-daily": {"task": "leaderboard.tasks.evaluate_flags", "schedule": crontab(hour=5, minute=0)},
    "send-flag-digests": {"task": "leaderboard.tasks.send_digests", "schedule": crontab(hour=7, minute=0)},
    # The Health page keeps a week of task runs.
    "forget-old-task-runs": {"task": "leaderboard.tasks.forget_old_task_runs", "schedule": crontab(hour=3, minute=30)},
    # Each connection has its own interval (hourly by default); this only looks for the ones due.
    "sync-due-connections": {"task": "leaderboard.tasks.sync_due_connections",
                             "schedule": timedelta(seconds=env.int("CONNECTION_SWEEP_SECONDS", default=5 * 60))},
}

# --- Imports ------------------------------------------------------------------------------------
IMPORT_MAX_BYTES = env.int("IMPORT_MAX_BYTES", default=512 * 1024 * 1024)
IMPORT_MAX_ATTEMPTS = env.int("IMPORT_MAX_ATTEMPTS", default=5)
# What a person may upload for themself on My usage (ccusage output is kilobytes); beyond these a
# file is refused and not kept, so nobody can fill the disk from their own page.
SELF_UPLOAD_MAX_BYTES = env.int("SELF_UPLOAD_MAX_BYTES", default=20 * 1024 * 1024)
SELF_UPLOAD_DAILY_COUNT = env.int("SELF_UPLOAD_DAILY_COUNT", default=20)
SELF_UPLOAD_QUOTA_BYTES = env.int("SELF_UPLOAD_QUOTA_BYTES", default=200 * 1024 * 1024)
# Self-reported usage (ccusage) claiming more tokens than this for one person and day is held for an
# admin's review (leaderboard/self_reports.py); so is a claimed cost this far (a fraction) off the price list.
SELF_REPORT_MAX_TOKENS_PER_DAY = env.int("SELF_REPORT_MAX_TOKENS_PER_DAY", default=2_000_000_000)
SELF_REPORT_COST_TOLERANCE = env.float("SELF_REPORT_COST_TOLERANCE", default=0.10)
# How long a worker may hold an export before another may take it over.
IMPORT_LEASE = timedelta(seconds=env.int("IMPORT_LEASE_SECONDS", default=IMPORT_TIME_LIMIT + 5 * 60))
# A running import's worker proves it is alive this often; silent for the timeout, it is dead and
# another worker takes the export over (leaderboard/imports.py, "Leases").
IMPORT_HEARTBEAT_SECONDS = env.int("IMPORT_HEARTBEAT_SECONDS", default=3)
IMPORT_HEARTBEAT_TIMEOUT = env.int("IMPORT_HEARTBEAT_TIMEOUT", default=20)
# A queued export nobody has picked up by then had its message lost (broker flushed): send it again.
IMPORT_REQUEUE_AFTER = timedelta(seconds=env.int("IMPORT_REQUEUE_AFTER_SECONDS", default=2 * 60))
IMPORT_BATCH_SIZE = env.int("IMPORT_BATCH_SIZE", default=5000)
DATA_UPLOAD_MAX_NUMBER_FILES = 200

# --- Provider connections ------------------------------------------------------------------------
# Fernet keys for credentials at rest, comma separated: the first encrypts, all decrypt (rotation:
# README "Provider connections"). Unset: one key derived from SECRET_KEY, for laptops only: in
# production a leaked SECRET_KEY must not also open every provider's admin key.
CREDENTIAL_KEYS = env.list("CREDENTIAL_KEYS", default=[])
if DEPLOYED and not CREDENTIAL_KEYS:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(
        "CREDENTIAL_KEYS is not set. Production settings need at least one Fernet key for the provider "
        "credentials: python3 -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
    )
# Every call to a provider: seconds to connect and to wait for an answer.
CONNECTION_CONNECT_TIMEOUT = env.float("CONNECTION_CONNECT_TIMEOUT", default=10.0)
CONNECTION_READ_TIMEOUT = env.float("CONNECTION_READ_TIMEOUT", default=60.0)
# 5xx answers and timeouts are tried again this many times, waiting base * 2^n seconds (up to a minute).
CONNECTION_RETRIES = env.int("CONNECTION_RETRIES", default=4)
CONNECTION_BACKOFF_SECONDS = env.float("CONNECTION_BACKOFF_SECONDS", default=2.0)
# A 429's Retry-After is honoured up to this many seconds and this many times per call; longer, the
# run stops and the next one carries on.
CONNECTION_MAX_RETRY_AFTER = env.int("CONNECTION_MAX_RETRY_AFTER", default=120)
CONNECTION_RATE_LIMIT_RETRIES = env.int("CONNECTION_RATE_LIMIT_RETRIES", default=5)
# A running sync renews its lease after every call; a worker that died lets it lapse this soon.
CONNECTION_LEASE = timedelta(seconds=env.int("CONNECTION_LEASE_SECONDS", default=15 * 60))

# --- Telemetry (OTLP/HTTP from the coding agents) ----------------------------------------------
# A request body (after gunzip) over this is refused with 413: exporters send kilobytes a minute.
TELEMETRY_MAX_BYTES = env.int("TELEMETRY_MAX_BYTES", default=8 * 1024 * 1024)
# More batches than this waiting to be folded: the receiver answers 429 with Retry-After.
TELEMETRY_MAX_BACKLOG = env.int("TELEMETRY_MAX_BACKLOG", default=50_000)
TELEMETRY_RETRY_AFTER = env.int("TELEMETRY_RETRY_AFTER", default=30)
# A fold is queued at most this often (seconds), and takes up to this many batches per transaction.
# Each fold moves the rollups' data version, which every cached board is kept under: folding every
# few seconds kept a 10,000-person company's boards cold under load (make loadtest). Every 30 s, a
# batch still reaches the boards within a minute, and the version moves twice a minute at most.
TELEMETRY_FOLD_EVERY = env.int("TELEMETRY_FOLD_EVERY", default=30)
TELEMETRY_FOLD_BATCHES = env.int("TELEMETRY_FOLD_BATCHES", default=500)
# One fold task folds for about this long, then leaves the rest to the next.
TELEMETRY_FOLD_SECONDS = env.int("TELEMETRY_FOLD_SECONDS", default=50)
TELEMETRY_FOLD_LEASE = timedelta(seconds=env.int("TELEMETRY_FOLD_LEASE_SECONDS", default=5 * 60))

# One line per request and per task, key=value pairs, each line carrying the id of the request or
# task it was logged in (leaderboard/logs.py).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "leaderboard.logs.ContextFilter"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(context)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["context"]}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # django-axes says "login failed" and "deleted 0 attempts" at INFO for every login; lockouts are WARNINGs.
    "loggers": {"django.db.backends": {"level": "INFO"}, "axes": {"level": "WARNING"}},
}

# --- Security (README "Security") ----------------------------------------------------------------
from csp.constants import NONE, SELF  # noqa: E402

# Errors (DEBUG pages, admins' error emails) never show a password kept inside a URL setting
# (REDIS_URL, the broker, EMAIL_URL) nor the settings Django already hides.
DEFAULT_EXCEPTION_REPORTER_FILTER = "leaderboard.error_reports.SecretsHiddenFilter"

# Sessions end after SESSION_MAX_AGE_SECONDS whatever happens, and after SESSION_IDLE_SECONDS without
# a request (accounts/sessions.py).
SESSION_MAX_AGE_SECONDS = env.int("SESSION_MAX_AGE_SECONDS", default=12 * 60 * 60)
SESSION_IDLE_SECONDS = env.int("SESSION_IDLE_SECONDS", default=60 * 60)
SESSION_COOKIE_AGE = SESSION_MAX_AGE_SECONDS

# Password login (and reset, and change) for local runs and the demo; a company with single sign-on
# can switch it off.
PASSWORD_LOGIN = env.bool("PASSWORD_LOGIN", default=True)
# Password-reset requests: at most this many per client address, and emails per account, an hour.
PASSWORD_RESET_PER_ADDRESS = env.int("PASSWORD_RESET_PER_ADDRESS", default=5)
PASSWORD_RESET_PER_ACCOUNT = env.int("PASSWORD_RESET_PER_ACCOUNT", default=3)
PASSWORD_RESET_WINDOW_SECONDS = 60 * 60
# Reset links work once (the password they set changes the token) and for this long.
PASSWORD_RESET_TIMEOUT = env.int("PASSWORD_RESET_TIMEOUT", default=60 * 60)

# Failed logins (django-axes, kept in the database): an account, or a client address, is locked out
# for AXES_COOLOFF_MINUTES after this many failures; the lockout page says until when.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "accounts.lockout.lockout_response"
# REMOTE_ADDR, as the audit trail keeps it: X-Forwarded-For is whatever the client wrote.
AXES_CLIENT_IP_CALLABLE = "accounts.audit.client_address"
AXES_VERBOSE = False
AXES_ENABLE_ACCESS_FAILURE_LOG = False

# Single sign-on with OpenID Connect (mozilla-django-oidc; accounts/sso.py). On when a client id is
# set: OIDC_ISSUER for discovery, or the endpoints one by one. People are matched to the roster by
# their verified email; nobody is created.
OIDC_ISSUER = env.str("OIDC_ISSUER", default="").rstrip("/")
OIDC_RP_CLIENT_ID = env.str("OIDC_CLIENT_ID", default="")
OIDC_RP_CLIENT_SECRET = env.str("OIDC_CLIENT_SECRET", default="")
OIDC_RP_SIGN_ALGO = env.str("OIDC_SIGN_ALGO", default="RS256")
OIDC_RP_SCOPES = env.str("OIDC_SCOPES", default="openid email profile")
OIDC_OP_AUTHORIZATION_ENDPOINT = env.str("OIDC_AUTHORIZATION_ENDPOINT", default="")
OIDC_OP_TOKEN_ENDPOINT = env.str("OIDC_TOKEN_ENDPOINT", default="")
OIDC_OP_USER_ENDPOINT = env.str("OIDC_USERINFO_ENDPOINT", default="")
OIDC_OP_JWKS_ENDPOINT = env.str("OIDC_JWKS_ENDPOINT", default="")
OIDC_ALLOWED_DOMAINS = [d.lower().lstrip("@") for d in env.list("OIDC_ALLOWED_DOMAINS", default=[])]
OIDC_CREATE_USER = False
OIDC_USE_PKCE = True
OIDC_TIMEOUT = 10
OIDC_CALLBACK_CLASS = "accounts.sso.CallbackView"
OIDC_AUTHENTICATE_CLASS = "accounts.sso.LoginView"
LOGIN_REDIRECT_URL_FAILURE = "/login/sso/refused/"

# Every response of a page or a download is private and never stored (leaderboard/response_headers.py),
# and no page may use the camera, the microphone, geolocation and the like.
PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), display-capture=(), geolocation=(), gyroscope=(), magnetometer=(), "
    "microphone=(), midi=(), payment=(), usb=()"
)
# Scripts, styles and images from our own origin only: no inline script, style element or style
# attribute, no eval (htmx is told so in base.html), no framing.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}
AXES_USERNAME_FORM_FIELD = "username"  # the login form's field (axes would look for "email", the model's)
AXES_USERNAME_CALLABLE = "accounts.lockout.username_of"
AXES_WHITELIST_CALLABLE = "accounts.lockout.is_single_sign_on"
OIDC_PROVIDER_NAME = env.str("OIDC_PROVIDER_NAME", default="your company account")
