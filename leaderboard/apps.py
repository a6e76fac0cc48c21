import gc

from django.apps import AppConfig
from django.core.signals import request_finished

_FREEZE_UID = "leaderboard-freeze-after-first-request"


def freeze_lifelong_objects() -> None:
    """Leave what this process has loaded so far out of the garbage collector's full passes.

    Every module, class, function and compiled template a Django process loads lives as long as the
    process: some 90,000 objects that never become garbage, yet each full pass walked them all, 65 ms
    a time, landing on whichever request happened to be running, and eight times in an import of
    200,000 rows (8% of it). Frozen, a full pass walks only what requests, caches and imports create:
    about 12 ms. This is Python's gc.freeze(), as prefork servers use it before forking. Called once
    a process is set up: a web process after its first request, a Celery worker process as it
    starts, an import command before it reads. Only the first call freezes: objects made later may
    become garbage, and frozen garbage is never collected.
    """
    if gc.get_freeze_count():
        return
    gc.collect()
    gc.freeze()


def _freeze_after_first_request(**kwargs):
    # By then the URLconf, the views and the first page's templates are loaded too.
    request_finished.disconnect(dispatch_uid=_FREEZE_UID)
    freeze_lifelong_objects()


class LeaderboardConfig(AppConfig):
    name = "leaderboard"
    verbose_name = "Usage"

    def ready(self):
        request_finished.connect(_freeze_after_first_request, dispatch_uid=_FREEZE_UID)
        # Budgets cached for the pages are keyed by a budget version that these writes move
        # (leaderboard/budgets.py, "The pages' cache"). A queryset update() sends no signal: the
        # one that writes a budget field, ``budgets.set_work_percent``, moves it itself.
        from django.db.models.signals import post_delete, post_save

        from accounts.models import Person

        from . import budgets
        from .models import BudgetPolicy, OrgSettings

        for model in (BudgetPolicy, OrgSettings):
            post_save.connect(budgets.policies_changed, sender=model, dispatch_uid=f"budgets-{model.__name__}-save")
            post_delete.connect(budgets.policies_changed, sender=model, dispatch_uid=f"budgets-{model.__name__}-delete")
        post_save.connect(budgets.person_saved, sender=Person, dispatch_uid="budgets-person-save")
