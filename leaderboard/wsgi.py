import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leaderboard.settings")

application = get_wsgi_application()

from leaderboard.processes import set_up_web_process  # noqa: E402 - needs the settings and apps loaded above

set_up_web_process()
