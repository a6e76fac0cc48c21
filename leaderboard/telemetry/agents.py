"""What each coding agent's OpenTelemetry metrics and events mean here: which of them count as
tokens, cost, requests or activity, under which source, and who they belong to.

What this relies on, and how sure it is:

Claude Code (meter ``com.anthropic.claude_code``; ``service.name`` ``claude-code``): from
``../shared/provider-formats.md`` section 3, itself from the code.claude.com monitoring docs
(Aug 2026) [documented]. Metrics: ``claude_code.token.usage`` (attribute ``type``: ``input``,
``output``, ``cacheRead``, ``cacheCreation``; disjoint like the Admin API's), ``claude_code.cost.usage``
(USD, a client-side estimate), ``claude_code.session.count``, ``claude_code.lines_of_code.count``
(``type`` ``added``/``removed``), ``claude_code.commit.count``, ``claude_code.pull_request.count``,
``claude_code.code_edit_tool.decision`` (``decision`` ``accept``/``reject``); delta temporality by
default. Standard attributes ``user.email`` (OAuth logins only) and ``user.account_id`` (``user_...``,
the Admin API's account ids). Events: ``claude_code.api_request`` (``event.name`` ``api_request``), one
per model request. Value encodings (asDouble or asInt, ints as JSON strings) are only observed, so
every encoding is accepted.

Codex CLI (``openai/codex``, ``codex-rs/otel``, read in its source, 2026) [source]: its log events
carry ``user.email`` (the ChatGPT login, when there is one), ``user.account_id`` (the ChatGPT
*workspace* account: shared by colleagues, so never taken for a person), ``model``,
``conversation.id``; ``codex.sse_event`` with ``event.kind`` ``response.completed`` carries
``input_token_count`` (OpenAI's input: cached tokens included), ``cached_token_count``,
``output_token_count`` (reasoning included), ``reasoning_token_count``; ``codex.conversation_starts``
opens a session. Its metric ``codex.turn.token_usage`` is a histogram per turn with ``token_type``
``input``, ``cached_input``, ``cache_write_input`` (newer versions), ``output``, ``reasoning_output``,
``total``, tagged with ``model`` but with no person: it counts (source ``codex_telemetry_metrics``,
ranked below the events) only for people whose events are missing, and names someone only when a
site adds ``user.email`` to the resource (``OTEL_RESOURCE_ATTRIBUTES``) [our choice].

Gemini CLI (``google-gemini/gemini-cli`` ``docs/cli/telemetry.md``, 2026) [documented]: every metric
and log carries ``session.id``, ``installation.id`` and, with a Google login, ``user.email``.
``gemini_cli.token.usage`` is a counter (cumulative unless the exporter is told otherwise) with
``model`` and ``type`` ``input`` (Gemini's prompt count: cached tokens included), ``output``,
``thought`` (billed as output), ``cache`` (cached input) and ``tool`` (tool-use prompt, outside the
prompt count) [the split follows Gemini's usageMetadata; how the CLI maps it is our reading].
``gemini_cli.session.count``, ``gemini_cli.lines.changed`` (``type`` ``added``/``removed``) and
``gemini_cli.api.request.count`` (``model``) give sessions, lines and requests. Its
``gemini_cli.api_response`` events repeat the token counts of the metric, so they are not counted.

One signal carries each number, so that an agent exporting both metrics and events never counts
twice: tokens and cost come from Claude Code's and Gemini CLI's metrics and from Codex's events;
Claude Code's requests from its events.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from accounts.models import ProviderIdentity

from ..ingestion import fields
from ..ingestion.rows import IdentityKey
from ..models import Source

Kind = ProviderIdentity.Kind

# What a reading measures. Token kinds are the four disjoint ones, plus INPUT_GROSS for agents whose
# input count includes cached tokens (OpenAI's and Gemini's): the fold takes the cached ones out.
INPUT, INPUT_GROSS, CACHE_WRITE, CACHE_READ, OUTPUT = "input", "input_gross", "cache_write", "cache_read", "output"
COST = "cost"  # micro-dollars
REQUESTS = "requests"
SESSIONS, LINES_ADDED, LINES_REMOVED = "sessions", "lines_added", "lines_removed"
COMMITS, PULL_REQUESTS, EDITS_ACCEPTED, EDITS_REJECTED = "commits", "pull_requests", "edits_accepted", "edits_rejected"
TOKEN_KINDS = (INPUT, INPUT_GROSS, CACHE_WRITE, CACHE_READ, OUTPUT)
USAGE_KINDS = (*TOKEN_KINDS, COST, REQUESTS)
ACTIVITY_KINDS = (SESSIONS, LINES_ADDED, LINES_REMOVED, COMMITS, PULL_REQUESTS, EDITS_ACCEPTED, EDITS_REJECTED)
MICRO = 1_000_000


@dataclass(frozen=True)
class Agent:
    name: str
    label: str
    vendor: str
    metric_prefix: str
    metrics_source: str
    events_source: str
    # Attributes that name someone short of an email: an account id the vendor's identity lists know,
    # an install id an admin can map to whoever uses that machine.
    account_attribute: str | None = None
    install_attribute: str | None = None


CLAUDE_CODE = Agent("claude_code", "Claude Code", "anthropic", "claude_code.", Source.CLAUDE_CODE_TELEMETRY,
                    Source.CLAUDE_CODE_TELEMETRY, account_attribute="user.account_id", install_attribute="user.id")
CODEX = Agent("codex", "Codex CLI", "openai", "codex.", Source.CODEX_TELEMETRY_METRICS, Source.CODEX_TELEMETRY)
GEMINI_CLI = Agent("gemini_cli", "Gemini CLI", "google", "gemini_cli.", Source.GEMINI_CLI_TELEMETRY,
                   Source.GEMINI_CLI_TELEMETRY, install_attribute="installation.id")
AGENTS = (CLAUDE_CODE, CODEX, GEMINI_CLI)
_SERVICES = {"claude-code": CLAUDE_CODE, "claude-code-desktop": CLAUDE_CODE, "codex-cli": CODEX,
             "codex_cli_rs": CODEX, "gemini-cli": GEMINI_CLI}


def agent_of_metric(name: str) -> Agent | None:
    for agent in AGENTS:
        if name.startswith(agent.metric_prefix):
            return agent
    return None


def agent_of_event(attributes: Mapping, body: str, scope: str) -> Agent | None:
    """Events name themselves ``codex.sse_event``, ``gemini_cli.api_response``; Claude Code's say
    ``api_request`` with the prefix in the body or the scope (``com.anthropic.claude_code.events``)."""
    name = attributes.get("event.name")
    for text in (name, body):
        if isinstance(text, str):
            found = agent_of_metric(text)
            if found:
                return found
    if "claude_code" in scope:
        return CLAUDE_CODE
    return _SERVICES.get(attributes.get("service.name"))


# --- Metrics ------------------------------------------------------------------------------------

_CLAUDE_TOKENS = {"input": INPUT, "output": OUTPUT, "cacheRead": CACHE_READ, "cacheCreation": CACHE_WRITE}
_CODEX_TOKENS = {"input": INPUT_GROSS, "cached_input": CACHE_READ, "cache_write_input": CACHE_WRITE,
                 "output": OUTPUT}
_GEMINI_TOKENS = {"input": INPUT_GROSS, "cache": CACHE_READ, "output": OUTPUT, "thought": OUTPUT, "tool": INPUT}
_LINES = {"added": LINES_ADDED, "removed": LINES_REMOVED}
_DECISIONS = {"accept": EDITS_ACCEPTED, "reject": EDITS_REJECTED}


def metric_kind(agent: Agent, name: str, attributes: Mapping) -> str | None:
    """What a data point of metric ``name`` measures, or None for metrics that say nothing we count."""
    kind = attributes.get("type")
    if agent is CLAUDE_CODE:
        match name:
            case "claude_code.token.usage":
                return _CLAUDE_TOKENS.get(kind)
            case "claude_code.cost.usage":
                return COST
            case "claude_code.session.count":
                return SESSIONS
            case "claude_code.lines_of_code.count":
                return _LINES.get(kind)
            case "claude_code.commit.count":
                return COMMITS
            case "claude_code.pull_request.count":
                return PULL_REQUESTS
            case "claude_code.code_edit_tool.decision":
                return _DECISIONS.get(attributes.get("decision"))
    elif agent is CODEX:
        if name == "codex.turn.token_usage":
            return _CODEX_TOKENS.get(attributes.get("token_type"))
        if name == "codex.thread.started":
            return SESSIONS
    elif agent is GEMINI_CLI:
        match name:
            case "gemini_cli.token.usage":
                return _GEMINI_TOKENS.get(kind)
            case "gemini_cli.session.count":
                return SESSIONS
            case "gemini_cli.lines.changed":
                return _LINES.get(kind)
            case "gemini_cli.api.request.count":
                return REQUESTS
    return None


# --- Events -------------------------------------------------------------------------------------


def event_measures(agent: Agent, attributes: Mapping, body: str) -> list[tuple[str, int]]:
    """(kind, value) pairs an event counts for; FieldError for an event we count that is malformed."""
    name = attributes.get("event.name") or body
    if agent is CLAUDE_CODE and name in ("api_request", "claude_code.api_request"):
        return [(REQUESTS, 1)]
    if agent is CODEX:
        if name == "codex.sse_event" and attributes.get("event.kind") == "response.completed":
            if attributes.get("error.message"):
                return []
            return [
                (INPUT_GROSS, _count(attributes, "input_token_count")),
                (CACHE_READ, _count(attributes, "cached_token_count")),
                (OUTPUT, _count(attributes, "output_token_count")),
                (REQUESTS, 1),
            ]
        if name == "codex.conversation_starts":
            return [(SESSIONS, 1)]
    return []


def _count(attributes: Mapping, name: str) -> int:
    # Numeric attributes arrive as intValue, doubleValue or stringValue depending on the exporter.
    value = attributes.get(name)
    return 0 if value is None else fields.count(value, name)


# --- People -------------------------------------------------------------------------------------


def identity(agent: Agent, attributes: Mapping) -> IdentityKey:
    """Who sent it: ``user.email``, else an account id the vendor's identity lists know, else the
    install an admin can map; else nobody (kept as unattributed, never given to anyone)."""
    email = attributes.get("user.email")
    if isinstance(email, str) and email:
        try:
            return IdentityKey(agent.vendor, Kind.EMAIL, fields.email(email, "user.email"))
        except fields.FieldError:
            pass  # not an address: fall back on what else names them
    for attribute, kind, template in (
        (agent.account_attribute, Kind.ACCOUNT_ID, "{}"),
        (agent.install_attribute, Kind.USER_ID, agent.label + " install {}"),
    ):
        value = attributes.get(attribute) if attribute else None
        if isinstance(value, str) and value.strip():
            return IdentityKey(agent.vendor, kind, template.format(fields.text(value.strip()[:150], attribute)))
    return IdentityKey(agent.vendor, Kind.UNATTRIBUTED, f"{agent.label} telemetry without a user")
