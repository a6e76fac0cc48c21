"""Live telemetry from the coding agents: the tokens that let them in, and the points they sent.

The raw OTLP batches themselves are UsageExport rows (origin ``telemetry``): kept like any export.
"""

from django.db import models
from django.utils import timezone

from accounts.models import Person, ProviderIdentity

from .usage import Source, UsageExport


class IngestTokenQuerySet(models.QuerySet):
    def live(self):
        return self.filter(revoked_at__isnull=True)


class IngestToken(models.Model):
    """What an agent's OTLP exporter sends as ``Authorization: Bearer ...``.

    Only the SHA-256 of the token is kept: the token is 32 random bytes, so a plain hash cannot be
    searched backwards, and it stays valid when SECRET_KEY is rotated. It is shown once, when made.
    """

    name = models.CharField(max_length=100, help_text="Who or what uses it: a team, a fleet of laptops.")
    secret_sha256 = models.CharField(max_length=64, unique=True, editable=False)
    # The token's first characters, so an admin can tell which one a laptop has; not enough to use it.
    prefix = models.CharField(max_length=12, editable=False)
    created_by = models.ForeignKey(Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # Refreshed at most once a minute (leaderboard/telemetry/tokens.py): not a write per batch.
    last_used_at = models.DateTimeField(null=True, blank=True)

    objects = IngestTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_live(self) -> bool:
        return self.revoked_at is None


class TelemetryPoint(models.Model):
    """One increment of one measure (tokens of a kind, cost, sessions, lines...) of one series over
    one interval, as the fold worked it out from the agents' metrics and events.

    Stored under its natural key, (series, start_ns, end_ns): an exporter that sends a batch again,
    or a point that arrives twice in two batches, lands on the same row and counts once. A delta
    point's interval is its own; a cumulative series keeps its raw ``reading`` at each time (start_ns
    is then the series' start) and ``value`` is the increment since the reading before it, worked
    out again when a late reading arrives in between. An event is its own series, at its time.

    UsageRecord and ActivityRecord rows of the telemetry sources are sums of these.
    """

    series = models.CharField(max_length=32, help_text="Hash of the metric, resource, attributes (and start).")
    start_ns = models.BigIntegerField()
    end_ns = models.BigIntegerField()
    identity = models.ForeignKey(ProviderIdentity, on_delete=models.PROTECT, related_name="+", db_index=False)
    vendor = models.CharField(max_length=40)
    source = models.CharField(max_length=30, choices=Source.choices)
    model = models.CharField(max_length=200, blank=True)
    kind = models.CharField(max_length=20, help_text="input, cache_read, output, cost (micro-USD), sessions, ...")
    day = models.DateField()
    value = models.BigIntegerField()
    reading = models.BigIntegerField(null=True, blank=True, help_text="The cumulative value, for cumulative series.")
    # Provenance, like UsageRecord.export.
    export = models.ForeignKey(
        UsageExport, on_delete=models.PROTECT, related_name="+", db_index=False, db_constraint=False
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["series", "start_ns", "end_ns"], name="telemetry_point_natural_key")
        ]
        indexes = [models.Index(fields=["identity", "day"], name="telemetry_point_identity_day")]

    def __str__(self):
        return f"{self.day} {self.source} {self.kind} {self.value}"
