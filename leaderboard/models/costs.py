"""What the providers' own cost reports say (Anthropic cost report, OpenAI costs, Cursor spend): the
invoice's figures, which the reconciliation page sets beside the board's."""

from django.db import models

from .usage import UsageExport


class ProviderCost(models.Model):
    """One amount of a provider's cost report: a vendor, a UTC day, and the report's own grouping
    (workspace, project, line item, member) as ``dims``. Replaced, like usage, by a later report of
    the same key; within one report, amounts of one key are summed."""

    vendor = models.CharField(max_length=40)
    source = models.CharField(max_length=30)
    day = models.DateField()
    dims = models.CharField(max_length=255, blank=True)
    model = models.CharField(max_length=200, blank=True)
    amount_usd = models.DecimalField(max_digits=18, decimal_places=6)
    # Provenance, as on UsageRecord.
    export = models.ForeignKey(UsageExport, on_delete=models.PROTECT, related_name="+", db_index=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["vendor", "source", "day", "dims"], name="provider_cost_key")]
        indexes = [models.Index(fields=["vendor", "day"])]

    def __str__(self):
        return f"{self.day} {self.vendor} {self.dims or '-'}: ${self.amount_usd}"
