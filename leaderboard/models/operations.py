"""What the workers did: one row per task run, for the Health page (durations, failures, the beat)."""

from django.db import models


class TaskRun(models.Model):
    """A Celery task's run as its worker saw it: started, finished (or not: the worker died), how."""

    class State(models.TextChoices):
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        RETRYING = "retrying", "Retrying"

    task_id = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    state = models.CharField(max_length=10, choices=State.choices, default=State.RUNNING)
    worker = models.CharField(max_length=200, blank=True)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    duration = models.FloatField(null=True, blank=True, help_text="Seconds.")
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at", "-pk"]
        indexes = [models.Index(fields=["name", "-started_at"]), models.Index(fields=["state", "-started_at"])]

    def __str__(self):
        return f"{self.name} {self.state} at {self.started_at:%Y-%m-%d %H:%M:%S}"
