import os

from celery import Celery
from celery.signals import worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leaderboard.settings")

app = Celery("leaderboard")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_process_init.connect
def _set_up_worker_process(**kwargs):
    # Each worker process, once forked and set up, before its first task (leaderboard/processes.py).
    from .processes import freeze_lifelong_objects

    freeze_lifelong_objects()
