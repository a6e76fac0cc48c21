import gc

from django.apps import AppConfig
from django.core.signals import request_finished

_FREEZE_UID = "leaderboard-freeze-after-first-request"


def _freeze_after_first_request(**kwargs):
    """Leave what a web process keeps for its whole life out of the garbage collector's full passes.

    Once the first request is served, every module, the URLconf and the templates it used are loaded:
    some 90,000 objects that never become garbage, yet a full pass walked them all, 65 ms each time,
    landing on whichever request happened to be running. Frozen, a full pass over what requests and
    the caches create takes about 12 ms (Python's gc.freeze(), the same thing prefork servers do
    before forking).
    """
    request_finished.disconnect(dispatch_uid=_FREEZE_UID)
    gc.collect()
    gc.freeze()


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
