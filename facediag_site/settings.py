"""FaceDiag settings. Every deploy-specific value comes from the environment (see README)."""

from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

from . import embedded_redis
from .media_storage import default_storage_config

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"  # embedded default: the SQLite DB (made by SiteConfig.ready) and the Redis socket

env = environ.Env()
if env.bool("DJANGO_READ_DOT_ENV", default=True):  # scripts/run.sh keeps the local secret key in .env
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DJANGO_DEBUG", default=False)
if DEBUG:
    SECRET_KEY = env("DJANGO_SECRET_KEY", default="insecure-dev-key-only-for-debug")
else:
    SECRET_KEY = env("DJANGO_SECRET_KEY")  # required when DEBUG is off
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "django_filters",
    "csp",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "accounts",
    "ml",
    "diagnosis",
    "review",
    "api",
    "reminders",
    "django_prometheus",  # request, latency and database metrics (facediag_site.metrics has the product's)
    "facediag_site.apps.SiteConfig",  # makes the embedded defaults' folders at start-up (facediag_site.lib)
]

MIDDLEWARE = [
    "facediag_site.logging.AccessLogMiddleware",  # the one JSON line per request (gunicorn writes none)
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "facediag_site.metrics_export.MetricsEndpointMiddleware",  # /metrics: before the host check and redirect
    "facediag_site.logging.RequestIdMiddleware",
    "facediag_site.middleware.DatabaseUnavailableMiddleware",
    "diagnosis.middleware.UploadSizeLimitMiddleware",  # process_view: before CsrfViewMiddleware reads the body
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.middleware.ProfileLanguageMiddleware",
    "accounts.middleware.ProfileTimeZoneMiddleware",
    "facediag_site.middleware.PrivateResponsesMiddleware",
    "facediag_site.middleware.SessionAccountHeaderMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "accounts.middleware.LoginRefusedMiddleware",
    "facediag_site.error_pages.MethodNotAllowedPageMiddleware",
    "facediag_site.metrics_export.PrometheusAfterMiddleware",  # django_prometheus's, method labels bounded
]

ROOT_URLCONF = "facediag_site.urls"
WSGI_APPLICATION = "facediag_site.wsgi.application"

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
                "diagnosis.context_processors.disclaimer",
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'facediag.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
# django-prometheus' wrappers of the same backends count connections, queries and their durations.
_INSTRUMENTED_BACKENDS = {
    "django.db.backends.postgresql": "django_prometheus.db.backends.postgresql",
    "django.db.backends.sqlite3": "django_prometheus.db.backends.sqlite3",
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web and worker write concurrently: wait for the lock instead of failing.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 5)
DATABASES["default"]["ENGINE"] = _INSTRUMENTED_BACKENDS.get(DATABASES["default"]["ENGINE"],
                                                            DATABASES["default"]["ENGINE"])

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["accounts.backends.LoginGuardBackend"]  # ModelBackend behind the login lockout
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "diagnosis:upload"
LOGOUT_REDIRECT_URL = "home"

LANGUAGE_CODE = "en-gb"
# Chosen from the browser's Accept-Language, or by the person with the language menu (a cookie); for a
# signed-in person the profile's language wins (accounts.middleware.ProfileLanguageMiddleware).
LANGUAGES = [("en-gb", "English"), ("es", "Español")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env("DJANGO_TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True
# The date styles people read (facediag_site.lib.dates); times are shown in the profile's time zone
# (accounts.middleware.ProfileTimeZoneMiddleware), TIME_ZONE only without one.
FORMAT_MODULE_PATH = ["facediag_site.formats"]

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env("DJANGO_STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
WHITENOISE_USE_FINDERS = True

# Uploads are private: there is no MEDIA_URL route; files are served by access-checked views.
MEDIA_ROOT = Path(env("DJANGO_MEDIA_ROOT", default=str(BASE_DIR / "media")))
MEDIA_URL = "/private-media/"  # never routed; only used to build nothing public
FILE_UPLOAD_PERMISSIONS = 0o600
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o700
# Media on a private S3-compatible bucket when FACEDIAG_S3_BUCKET is set (see facediag_site/media_storage.py).
STORAGES = {
    "default": default_storage_config(env),
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# Redis: REDIS_URL, else the embedded default's own Redis on a Unix socket under var/redis/, which the run
# command starts (facediag_site.embedded_redis). Broker and cache both: rate limits and the worker's heartbeat
# are shared by every local process.
REDIS_URL = env("REDIS_URL", default="") or embedded_redis.redis_url()
CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                      "LOCATION": env("REDIS_CACHE_URL", default=REDIS_URL),
                      # Fail fast when Redis is down: request limits then fail open (accounts.ratelimit).
                      "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1}}}

# Trusted reverse proxies in front of the app: X-Forwarded-For counts for client addresses (rate limits,
# lockouts) only when this is set; 0 (the default) ignores the header, which any client can forge.
NUM_PROXIES = env.int("NUM_PROXIES", default=0)

# Security. DJANGO_SECURE=true behind HTTPS (docker-compose sets it): HSTS, secure cookies, redirect.
SECURE = env.bool("DJANGO_SECURE", default=False)
SECURE_SSL_REDIRECT = SECURE
# Health probes come from inside the container over plain HTTP; a redirect would always look healthy.
SECURE_REDIRECT_EXEMPT = [r"^healthz/$"]
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if SECURE else None
SECURE_HSTS_SECONDS = 31536000 if SECURE else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE
SECURE_HSTS_PRELOAD = SECURE
SESSION_COOKIE_SECURE = SECURE
CSRF_COOKIE_SECURE = SECURE
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],  # no inline scripts anywhere
        "style-src": ["'self'", "'unsafe-inline'"],  # the Django admin uses inline style attributes
        "img-src": ["'self'", "data:", "blob:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "worker-src": ["'self'", "blob:"],
    }
}

# Login lockout (accounts.lockout): per account, with only a progressive delay from addresses the
# account has logged in from; per address only after failures on many distinct accounts.
LOGIN_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
LOGIN_LOCKOUT_MINUTES = env.int("LOGIN_LOCKOUT_MINUTES", default=15)
LOGIN_MAX_DELAY_SECONDS = env.int("LOGIN_MAX_DELAY_SECONDS", default=300)
LOGIN_IP_ACCOUNT_LIMIT = env.int("LOGIN_IP_ACCOUNT_LIMIT", default=20)
LOGIN_KNOWN_IP_DAYS = env.int("LOGIN_KNOWN_IP_DAYS", default=90)
# Per-IP and per-account limits for password reset and sign-up (cache counters).
AUTH_RATE_LIMIT_PER_IP = env.int("AUTH_RATE_LIMIT_PER_IP", default=20)  # per hour
AUTH_RATE_LIMIT_PER_ACCOUNT = env.int("AUTH_RATE_LIMIT_PER_ACCOUNT", default=5)  # per hour

# E-mail: SMTP from EMAIL_URL (e.g. smtp+tls://user:pass@host:587; filemail:///path for development).
# Whole messages (password reset links) never go to the logs: no console backend; without EMAIL_URL
# mail is dropped with a one-line warning, and production (DJANGO_SECURE) refuses to start.
if env("EMAIL_URL", default=""):
    vars().update(env.email("EMAIL_URL"))
    if globals()["EMAIL_BACKEND"] == "django.core.mail.backends.console.EmailBackend":  # set just above
        raise ImproperlyConfigured("EMAIL_URL consolemail:// would print reset links to the logs; "
                                   "use filemail:///some/folder for development, or SMTP.")
elif SECURE:
    raise ImproperlyConfigured("Set EMAIL_URL (e.g. smtp+tls://user:pass@smtp.example.org:587): "
                               "production cannot send password reset mail without it.")
else:
    EMAIL_BACKEND = "facediag_site.mail.UnsentMailBackend"
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="FaceDiag <no-reply@facediag.local>")
# Account e-mails (confirmation, password reset) are sent by a worker (accounts.tasks), never in a request;
# a mail server that hangs holds that worker at most this long per attempt.
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=30)

# Celery: the Redis above (kombu spells a Unix socket redis+socket://).
CELERY_BROKER_URL = embedded_redis.broker_url(REDIS_URL)
CELERY_BROKER_TRANSPORT_OPTIONS = {
    # A message a dead worker held comes back after this long (then its scan is analysed again). Above the
    # longest hold of a live worker: a prefetched batch waiting for the one before it, retries' countdowns.
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=60),
    # Look for such messages every 5 s (kombu's default looks every 10 s and scans every 10th time).
    "unacked_restore_interval": 5,
    "unacked_restore_throttle": 1,
    "socket_connect_timeout": 2,
    "socket_timeout": 5,
}
# Each worker records a heartbeat in the cache this often; /healthz/ fails its "worker" check when none has
# been seen for WORKER_HEARTBEAT_STALE_SECONDS (facediag_site.heartbeat).
WORKER_HEARTBEAT_SECONDS = env.float("WORKER_HEARTBEAT_SECONDS", default=10.0)
WORKER_HEARTBEAT_STALE_SECONDS = env.float("WORKER_HEARTBEAT_STALE_SECONDS", default=60.0)
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PROC_ALIVE_TIMEOUT = 120  # a new child loads TensorFlow and the model before it reports up
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# Beat touches BEAT_LIVENESS_FILE (when set) at every tick, at least once a minute: its liveness probe reads
# the file's age (facediag_site/beat.py, k8s/base/beat.yaml).
CELERY_BEAT_SCHEDULER = "facediag_site.beat:LivenessScheduler"
CELERY_BEAT_MAX_LOOP_INTERVAL = 60
CELERY_BEAT_SCHEDULE = {
    "requeue-stuck-scans": {
        "task": "diagnosis.tasks.requeue_stuck_scans",
        "schedule": env.float("SCAN_SWEEP_INTERVAL_SECONDS", default=15.0),
    },
    "purge-expired-images": {"task": "diagnosis.tasks.purge_expired_images", "schedule": 3600.0},
    "send-due-reminders": {
        "task": "reminders.tasks.send_due_reminders",
        "schedule": env.float("REMINDER_CHECK_INTERVAL_SECONDS", default=900.0),
    },
    "check-drift": {  # daily, at DRIFT_CHECK_HOUR:00 in TIME_ZONE
        "task": "review.tasks.check_drift",
        "schedule": crontab(hour=env.int("DRIFT_CHECK_HOUR", default=4), minute=0),
    },
}

# The learning loop (review app): the promotion gate on reviewed scans, and the daily drift check.
MODEL_PROMOTION_MIN_REVIEWED = env.int("MODEL_PROMOTION_MIN_REVIEWED", default=100)
MODEL_PROMOTION_RECALL_TOLERANCE = env.float("MODEL_PROMOTION_RECALL_TOLERANCE", default=0.05)
DRIFT_RECENT_DAYS = env.int("DRIFT_RECENT_DAYS", default=7)
DRIFT_BASELINE_DAYS = env.int("DRIFT_BASELINE_DAYS", default=28)
DRIFT_ALPHA = env.float("DRIFT_ALPHA", default=0.01)
DRIFT_MIN_SCANS = env.int("DRIFT_MIN_SCANS", default=30)
DRIFT_MAX_SCANS = env.int("DRIFT_MAX_SCANS", default=20000)  # per window: a uniform sample beyond this

# Model health (diagnosis.selectors.model_serving): /healthz/ and facediag_model_failing say the active model
# is failing when, of the last MODEL_HEALTH_SCANS scans it finished within MODEL_HEALTH_WINDOW_SECONDS, at least
# MODEL_FAILING_MIN_SCANS and MODEL_FAILING_SHARE failed at inference. A new activation re-queues the scans
# failed at inference within MODEL_FAILURE_REQUEUE_HOURS.
MODEL_HEALTH_WINDOW_SECONDS = env.int("MODEL_HEALTH_WINDOW_SECONDS", default=600)
MODEL_HEALTH_SCANS = env.int("MODEL_HEALTH_SCANS", default=50)
MODEL_FAILING_MIN_SCANS = env.int("MODEL_FAILING_MIN_SCANS", default=3)
MODEL_FAILING_SHARE = env.float("MODEL_FAILING_SHARE", default=0.5)
MODEL_FAILURE_REQUEUE_HOURS = env.float("MODEL_FAILURE_REQUEUE_HOURS", default=24.0)

# Scan pipeline
SCAN_MAX_UPLOAD_BYTES = env.int("SCAN_MAX_UPLOAD_BYTES", default=10 * 1024 * 1024)
SCAN_MAX_PIXELS = env.int("SCAN_MAX_PIXELS", default=40_000_000)
# Pixels one photo may be decoded at (diagnosis.imaging): JPEGs are decoded reduced to fit; PNG and WebP above
# it are refused from their header (bench/upload_memory.py has the memory per format).
SCAN_DECODE_MAX_PIXELS = env.int("SCAN_DECODE_MAX_PIXELS", default=16_000_000)
SCAN_MIN_SIDE = env.int("SCAN_MIN_SIDE", default=64)
SCAN_STORED_MAX_SIDE = env.int("SCAN_STORED_MAX_SIDE", default=2048)
SCAN_MAX_ATTEMPTS = env.int("SCAN_MAX_ATTEMPTS", default=3)
# A transient error (disk, database) retries after SCAN_RETRY_BACKOFF_SECONDS, then twice that, then four times.
SCAN_RETRY_BACKOFF_SECONDS = env.float("SCAN_RETRY_BACKOFF_SECONDS", default=1.0)
SCAN_UPLOAD_RATE = env("THROTTLE_UPLOADS", default="30/hour")  # per user, web and API uploads together
# Uploads refused as damaged (each cost a decode) per user; past it the account's uploads are refused undecoded.
SCAN_REFUSED_UPLOAD_RATE = env("THROTTLE_REFUSED_UPLOADS", default="10/hour")
SCAN_STUCK_AFTER_SECONDS = env.int("SCAN_STUCK_AFTER_SECONDS", default=300)
# A scan waiting longer than this has its page say "taking longer than usual" instead of "a few seconds".
SCAN_SLOW_AFTER_SECONDS = env.int("SCAN_SLOW_AFTER_SECONDS", default=30)
SCAN_IMAGE_RETENTION_DAYS = env.int("SCAN_IMAGE_RETENTION_DAYS", default=0)  # 0 keeps images
DATA_UPLOAD_MAX_MEMORY_SIZE = SCAN_MAX_UPLOAD_BYTES + 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

# Backpressure (diagnosis.backpressure): uploads are refused (503 + Retry-After, before anything is stored)
# while the scans waiting would take the workers more than SCAN_BACKLOG_LIMIT_SECONDS (0: never refuse).
# The workers' rate is measured over SCAN_RATE_WINDOW_SECONDS and taken as at least SCAN_ANALYSIS_RATE,
# the scans/s one worker sustains (bench/load.py on the 2-core development machine; docs/scaling.md).
SCAN_BACKLOG_LIMIT_SECONDS = env.float("SCAN_BACKLOG_LIMIT_SECONDS", default=20.0)
SCAN_ANALYSIS_RATE = env.float("SCAN_ANALYSIS_RATE", default=2.0)
SCAN_RATE_WINDOW_SECONDS = env.float("SCAN_RATE_WINDOW_SECONDS", default=30.0)

# Worker batching: a pool process analyses up to SCAN_BATCH_SIZE queued scans in one forward pass.
# Prefetch is bounded to one batch per pool process; a lone scan waits at most SCAN_BATCH_WAIT_SECONDS.
SCAN_BATCH_SIZE = env.int("SCAN_BATCH_SIZE", default=16)
SCAN_BATCH_WAIT_SECONDS = env.float("SCAN_BATCH_WAIT_SECONDS", default=0.05)
CELERY_WORKER_PREFETCH_MULTIPLIER = SCAN_BATCH_SIZE

# ML
# The ImageNet VGG16 base: None means the float16 file committed under ml/weights/ (inference needs
# nothing else). Training prefers the float32 Keras file when it is beside the checkout.
VGG16_WEIGHTS_PATH = env("FACEDIAG_VGG16_WEIGHTS", default="") or None
_float32_weights = BASE_DIR.parent / "shared" / "models" / "vgg16_imagenet_notop.h5"
VGG16_TRAINING_WEIGHTS_PATH = VGG16_WEIGHTS_PATH or (str(_float32_weights) if _float32_weights.exists() else None)
FACEDIAG_MODELS_DIR = Path(env("FACEDIAG_MODELS_DIR", default=str(BASE_DIR / "ml" / "artifacts")))

# Reminder e-mails' one-click unsubscribe links expire (reminders go out at most monthly).
REMINDER_UNSUBSCRIBE_LINK_DAYS = env.int("REMINDER_UNSUBSCRIBE_LINK_DAYS", default=90)
# A reminder round holds a worker at most about this long, then queues the rest behind waiting analyses.
REMINDER_ROUND_SECONDS = env.float("REMINDER_ROUND_SECONDS", default=1.0)

# The name people see in pages and e-mails.
SITE_NAME = env("FACEDIAG_SITE_NAME", default="FaceDiag")
CSRF_FAILURE_VIEW = "facediag_site.error_pages.csrf_failure"
# Where links in e-mails sent outside a request (reminders) point.
SITE_URL = env("FACEDIAG_SITE_URL", default="http://localhost:8000")

# Shown with every result (pages, API, PDF report).
DISCLAIMER = (
    "FaceDiag is a screening aid, not a diagnosis. It cannot rule a condition in or out. "
    "See a doctor or dermatologist if your skin is painful, spreading, bleeding, infected, "
    "near the eyes, or worrying you, whatever this result says."
)
# The same warning where there is no result to refer to (sign-up, error pages, the welcome e-mail).
GENERAL_DISCLAIMER = (
    "FaceDiag is a screening aid, not a diagnosis. It cannot rule a condition in or out. "
    "See a doctor or dermatologist if your skin is painful, spreading, bleeding, infected, "
    "near the eyes, or worrying you."
)

# REST API
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework_simplejwt.authentication.JWTAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 20,
    "NUM_PROXIES": NUM_PROXIES,
    "DEFAULT_THROTTLE_RATES": {
        "auth": env("THROTTLE_AUTH", default="20/minute"),
        "register": env("THROTTLE_REGISTER", default="10/hour"),
    },
}
SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("JWT_ACCESS_MINUTES", default=15)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("JWT_REFRESH_DAYS", default=14)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": True,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "FaceDiag API",
    "DESCRIPTION": "Facial skin-condition screening. A screening aid, never a diagnosis.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}

# Metrics (facediag_site.metrics, served by facediag_site.metrics_export): /metrics answers a request from
# this host without proxy headers, or one with "Authorization: Bearer $METRICS_TOKEN". Celery workers serve
# theirs on WORKER_METRICS_PORT (0: off). Several processes share PROMETHEUS_MULTIPROC_DIR (read from the
# environment by prometheus-client itself).
METRICS_TOKEN = env("METRICS_TOKEN", default="")
METRICS_ALLOW_LOOPBACK = env.bool("METRICS_ALLOW_LOOPBACK", default=True)
WORKER_METRICS_PORT = env.int("WORKER_METRICS_PORT", default=0)
WORKER_METRICS_ADDR = env("WORKER_METRICS_ADDR", default="0.0.0.0")
PROMETHEUS_LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, float("inf"))

# Logs: JSON lines (LOG_FORMAT=plain for a terminal), each with the request id of its request or scan,
# never an e-mail address or a token (facediag_site.logging).
LOG_FORMAT = env("LOG_FORMAT", default="json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {"()": "facediag_site.logging.JsonFormatter"},
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
    },
    "filters": {
        "redact": {"()": "facediag_site.logging.RedactPersonalData"},
        "request_context": {"()": "facediag_site.logging.RequestContext"},
        "quiet_routine": {"()": "facediag_site.logging.QuietRoutineTasks"},
        "only_unhandled": {"()": "facediag_site.logging.OnlyUnhandledErrors"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler",
                             "formatter": "plain" if LOG_FORMAT == "plain" else "json",
                             "filters": ["quiet_routine", "request_context", "redact"]}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    # The access line (facediag_site.logging.AccessLogMiddleware) says every answer's status: django.request
    # adds only unhandled exceptions (with their traceback).
    "loggers": {"django.request": {"level": "ERROR", "filters": ["only_unhandled"]}},
}

# Error tracking (sentry-sdk), off unless SENTRY_DSN is set; events are scrubbed like the logs.
SENTRY_DSN = env("SENTRY_DSN", default="")
if SENTRY_DSN:
    from .sentry import init_sentry

    init_sentry(SENTRY_DSN, environment=env("SENTRY_ENVIRONMENT", default="production"),
                traces_sample_rate=env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0))
