"""Telemetry: the OTLP/HTTP receiver the coding agents export to, and the admins' Ingest tokens page.

The receiver is authenticated by its bearer token alone: no session, no login, no CSRF token (an
exporter has none of them), and it never looks at ``request.user``.
"""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.db import DatabaseError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from accounts import audit
from accounts.access import admin_required

from .. import tasks
from ..models import IngestToken, UsageExport
from ..telemetry import otlp, receiving, tokens
from ..telemetry_forms import IngestTokenForm

RECENT_BATCHES = 20


# --- The receiver -----------------------------------------------------------------------------


def _respond(answer: otlp.Answer, *, retry_after: int | None = None, challenge: bool = False) -> HttpResponse:
    response = HttpResponse(answer.body, status=answer.status, content_type=answer.content_type)
    if retry_after:
        response["Retry-After"] = str(retry_after)
    if challenge:
        response["WWW-Authenticate"] = 'Bearer realm="otlp"'
    return response


def _read_body(request) -> bytes | None:
    """The body, or None when it is over the limit (read no further than the limit)."""
    limit = settings.TELEMETRY_MAX_BYTES
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        return None
    body = request.read(limit + 1)
    return None if len(body) > limit else body


def _receiver(signal: str):
    @login_not_required
    @csrf_exempt
    @require_POST
    def receive(request):
        encoding = otlp.encoding_of(request.content_type or "")
        try:
            token = tokens.authenticate(request.headers.get("Authorization", ""))
        except DatabaseError:
            # The token cannot be checked: the exporter keeps the batch and sends it again.
            return _respond(otlp.refused(503, otlp.UNAVAILABLE, "the server cannot check tokens now; send it again",
                                         encoding), retry_after=settings.TELEMETRY_RETRY_AFTER)
        if token is None:
            return _respond(otlp.refused(401, otlp.UNAUTHENTICATED, "send a live ingest token: "
                                         "Authorization: Bearer tbi_...", encoding), challenge=True)
        body = _read_body(request)
        if body is None:
            return _respond(otlp.refused(413, otlp.INVALID_ARGUMENT, f"the body is over the limit of "
                                         f"{settings.TELEMETRY_MAX_BYTES:,} bytes; export smaller batches", encoding))
        received = receiving.receive(signal=signal, token=token, body=body, content_type=request.content_type or "",
                                     content_encoding=request.headers.get("Content-Encoding", ""))
        if received.created:
            tasks.queue_telemetry_fold()
        return _respond(received.answer, retry_after=received.retry_after)

    receive.__name__ = f"otlp_{signal}"
    return receive


otlp_metrics = _receiver(otlp.METRICS)
otlp_logs = _receiver(otlp.LOGS)


# --- Ingest tokens ----------------------------------------------------------------------------


def _page(request, form: IngestTokenForm, *, new_token: str = "", status: int = 200):
    batches = UsageExport.objects.filter(origin=UsageExport.Origin.TELEMETRY)
    context = {
        "form": form,
        "new_token": new_token,
        "tokens": IngestToken.objects.select_related("created_by", "revoked_by"),
        "recent": batches.order_by("-pk")[:RECENT_BATCHES],
        "waiting": batches.filter(status__in=[UsageExport.Status.QUEUED, UsageExport.Status.RUNNING]).count(),
        "endpoint": request.build_absolute_uri(reverse("otlp_metrics")).removesuffix("/v1/metrics"),
    }
    # The token is in this page only; response_headers makes sure no browser or proxy keeps a copy.
    return render(request, "telemetry/tokens.html", context, status=status)


@admin_required
def ingest_tokens(request):
    form = IngestTokenForm(request.POST or None)
    if request.method == "POST":
        if not form.is_valid():
            return _page(request, form, status=400)
        token, secret = tokens.create_token(name=form.cleaned_data["name"], by=request.user,
                                            address=audit.client_address(request))
        # Rendered, not redirected: the token must not travel through the session's messages.
        return _page(request, IngestTokenForm(), new_token=secret)
    return _page(request, form)


@admin_required
@require_POST
def ingest_token_revoke(request, pk):
    token = get_object_or_404(IngestToken, pk=pk)
    if tokens.revoke_token(token=token, by=request.user, address=audit.client_address(request)):
        messages.success(request, f"{token} is revoked: batches it signs are refused from now on.")
    else:
        messages.info(request, f"{token} was already revoked.")
    return redirect("ingest_tokens")


urlpatterns = [
    path("otlp/v1/metrics", otlp_metrics, name="otlp_metrics"),
    path("otlp/v1/logs", otlp_logs, name="otlp_logs"),
    path("telemetry/tokens/", ingest_tokens, name="ingest_tokens"),
    path("telemetry/tokens/<int:pk>/revoke/", ingest_token_revoke, name="ingest_token_revoke"),
]
