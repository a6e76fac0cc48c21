"""What an error report (the DEBUG page, an admin's error email) may show of the settings and the
request: Django hides settings whose names say KEY, SECRET, PASS, TOKEN...; this also hides the
``Authorization`` header (ingest tokens) and the password inside a URL-shaped value (REDIS_URL, the
Celery broker, EMAIL_URL, DATABASE_URL)."""

import re

from django.views.debug import SafeExceptionReporterFilter

URL_PASSWORD = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<user>[^:/@\s]*):(?P<password>[^@/\s]+)@", re.I)


class SecretsHiddenFilter(SafeExceptionReporterFilter):
    hidden_settings = re.compile(r"API|TOKEN|KEY|SECRET|PASS|SIGNATURE|HTTP_COOKIE|AUTHORIZATION|CREDENTIAL|DSN", flags=re.I)

    def cleanse_setting(self, key, value):
        cleansed = super().cleanse_setting(key, value)
        if isinstance(cleansed, str):
            return URL_PASSWORD.sub(lambda m: f"{m['scheme']}{m['user']}:{self.cleansed_substitute}@", cleansed)
        return cleansed
