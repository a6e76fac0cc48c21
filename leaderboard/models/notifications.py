"""Emails and Slack messages to send, each exactly once."""

from django.db import models

from accounts.models import Person

from .flags import Flag


class Notification(models.Model):
    """One email or Slack message to send, exactly once: ``key`` says what makes it the same message,
    and a worker sends it only after moving it from pending to sending with a conditional UPDATE."""

    class Kind(models.TextChoices):
        NEW_FLAG = "new_flag", "New high-severity flag"
        DIGEST = "digest", "Digest of open flags"

    class Channel(models.TextChoices):
        EMAIL = "email", "Email"
        SLACK = "slack", "Slack"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    key = models.CharField(max_length=120, unique=True)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    channel = models.CharField(max_length=5, choices=Channel.choices, default=Channel.EMAIL)
    recipient = models.ForeignKey(Person, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    team = models.ForeignKey("accounts.Team", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    flag = models.ForeignKey(Flag, null=True, blank=True, on_delete=models.CASCADE, related_name="notifications")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["status", "created_at"])]

    def __str__(self):
        return self.key
