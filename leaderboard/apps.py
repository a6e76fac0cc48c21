from django.apps import AppConfig


class LeaderboardConfig(AppConfig):
    name = "leaderboard"
    verbose_name = "Usage"

    def ready(self):
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
