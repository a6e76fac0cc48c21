"""The numbers the pages' cache is keyed by (leaderboard/cache.py says which tables move which)."""

from django.db import models


class CacheVersion(models.Model):
    """One row per kind of data the pages cache: ``rollups``, ``people``, ``budgets``, ``personal``.
    Its value becomes a new random number whenever that data changes (never a counter: a number
    must not come back after a rollback or a restore and meet an old cache entry)."""

    name = models.CharField(max_length=20, primary_key=True)
    value = models.BigIntegerField()

    class Meta:
        db_table = "leaderboard_boards_version"
        # Made by migration 0004, its rows by cache.install_triggers: a `flush` (which the tests'
        # real-commit cases run between them) must not empty it along with the data it versions.
        managed = False

    def __str__(self):
        return f"{self.name}: {self.value}"
