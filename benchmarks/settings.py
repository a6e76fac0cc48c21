"""Settings of the boards benchmark: the app's own settings, plus a URLconf with the reference views.

Selected with DJANGO_SETTINGS_MODULE=benchmarks.settings by `python -m benchmarks boards` only."""

from leaderboard.settings import *  # noqa: F403

ROOT_URLCONF = "benchmarks.urls"
# The test client's host; gunicorn is reached as 127.0.0.1.
ALLOWED_HOSTS = [*ALLOWED_HOSTS, "testserver"]  # noqa: F405
# No collectstatic in a benchmark: `{% static %}` resolves from the source folders.
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}  # noqa: F405
if env.str("BENCH_CACHE_PREFIX", default=""):  # noqa: F405
    # A shared Redis: this run's keys never meet another's.
    CACHES["default"]["KEY_PREFIX"] = env.str("BENCH_CACHE_PREFIX")  # noqa: F405
LOGGING = {**LOGGING, "root": {"handlers": ["console"], "level": "WARNING"}}  # noqa: F405
# The load test reads each request's line (its time in the app) to tell work from waiting.
LOGGING["loggers"] = {**LOGGING["loggers"], "leaderboard.requests": {"level": env.str("BENCH_REQUEST_LOG", default="WARNING")}}  # noqa: F405
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405 - whitenoise warns about a missing one
