"""A fake of the four providers' admin APIs on 127.0.0.1, for the connection tests: real HTTP, the
documented shapes (provider-formats.md sections 1, 2, 4, 5, 6), small pages so that pagination is
followed, and faults on request (a status with headers, a slow answer) a given number of times.

Each vendor lives under its own prefix: ``/anthropic``, ``/openai/v1``, ``/cursor``, ``/github``.
Usage is one list of entries per vendor and UTC day; a test changes a day between two runs to revise it.
"""

from __future__ import annotations

import base64
import contextlib
import json
import threading
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import pytest

KEYS = {
    "anthropic": "sk-ant-admin01-FAKEanthropicSECRETqz0001",
    "openai": "sk-admin-FAKEopenaiSECRETxyzzyplugh02",
    "cursor": "crsr_FAKEcursorSECRETfrobnicate03",
    "github": "github_pat_FAKEgithubSECRETwibble04",
}
SONNET, HAIKU = "claude-sonnet-4-5-20250929", "claude-haiku-4-5-20251001"


@dataclass
class Entry:
    """One person's (or key's) usage of one model on one day, in each vendor's own terms."""

    who: str | None
    model: str
    input: int = 1000
    output: int = 100
    cache_read: int = 0
    cache_write: int = 0
    cents: float = 10.0


@dataclass
class Fault:
    match: str
    status: int = 500
    headers: dict = field(default_factory=dict)
    times: int = 1
    delay: float = 0.0


@dataclass
class Request:
    vendor: str
    method: str
    path: str
    query: list[tuple[str, str]]
    body: dict | None
    headers: dict

    def param(self, name: str) -> str | None:
        return dict(self.query).get(name)


def midnight(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())


def day_of(seconds: float) -> date:
    return datetime.fromtimestamp(seconds, UTC).date()


class FakeProviders:
    def __init__(self):
        self.usage: dict[str, dict[date, list[Entry]]] = {v: {} for v in KEYS}
        # What each provider's own cost report says a day cost, in cents.
        self.cost_cents: dict[str, dict[date, float]] = {v: {} for v in KEYS}
        self.anthropic_users = [("user_erin", "erin@example.com", "Erin"), ("user_lee", "lee@example.com", "Lee")]
        self.anthropic_keys = [("apikey_ci", "ci-bot", "user_lee")]
        self.openai_users = [("user-erin", "erin@example.com"), ("user-lee", "lee@example.com"),
                             ("user-sam", "sam@example.com")]
        self.cursor_members = [("Erin", "erin@example.com"), ("Lee", "lee@example.com")]
        self.copilot_seats = ["erin-gh", "lee-gh"]
        self.page_size = 2
        # Seconds the first OpenAI bucket starts after the asked start_time (a provider not snapping).
        self.openai_first_bucket_shift = 0
        self.faults: list[Fault] = []
        self.requests: list[Request] = []
        self.lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def base_url(self, vendor: str) -> str:
        return self.url + {"anthropic": "/anthropic", "openai": "/openai/v1", "cursor": "/cursor",
                           "github": "/github"}[vendor]

    def start(self) -> FakeProviders:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def fail(self, match: str, status: int = 500, *, times: int = 1, headers: dict | None = None) -> None:
        self.faults.append(Fault(match, status, headers or {}, times))

    def slow(self, match: str, seconds: float, *, times: int = 1) -> None:
        self.faults.append(Fault(match, 0, {}, times, seconds))

    def calls(self, vendor: str | None = None, path: str = "") -> list[Request]:
        return [r for r in self.requests if (vendor is None or r.vendor == vendor) and path in r.path]

    def seed(self, days: list[date]) -> None:
        """The usual company: Erin and Lee at each vendor on each of ``days``, plus a CI key."""
        for day in days:
            n = day.day
            self.usage["anthropic"][day] = [Entry("user_erin", SONNET, 1000 * n, 100 * n), Entry("apikey_ci", HAIKU, 500, 50),
                                            Entry(None, SONNET, 10, 1)]
            self.cost_cents["anthropic"][day] = 250.0
            self.usage["openai"][day] = [Entry("user-erin", "gpt-4o", 2000, 200, cache_read=500),
                                         Entry("user-lee", "gpt-4o-mini", 300, 30)]
            self.cost_cents["openai"][day] = 125.0
            self.usage["cursor"][day] = [Entry("erin@example.com", "claude-4-sonnet", 400, 40, cents=12.5),
                                         Entry("lee@example.com", "gpt-5", 100, 10, cents=2.5),
                                         Entry("lee@example.com", "gpt-5", 120, 12, cents=3.0)]
            self.usage["github"][day] = [Entry("erin-gh", "", 700, 70)]

    # --- answering ----------------------------------------------------------------------------

    def answer(self, vendor: str, method: str, path: str, query: list, body: dict | None, headers: dict, *,
               late: bool = False):
        """``late``: the answer to a request already delayed, which no fault applies to again."""
        with self.lock:
            self.requests.append(Request(vendor, method, path, query, body, headers))
            for fault in [] if late else self.faults:
                if fault.times > 0 and fault.match in path:
                    fault.times -= 1
                    if fault.delay:
                        return ("delay", fault.delay)
                    return fault.status, {"error": {"type": "fault", "message": f"injected {fault.status}"}}, fault.headers
        if not path.startswith("/download/") and not self._authorized(vendor, headers):
            return 401, {"error": {"type": "authentication_error",
                                   "message": f"invalid key {_presented(vendor, headers)[:6]}***"}}, {}
        handler = getattr(self, f"_{vendor}")
        return handler(method, path, dict(query), query, body or {})

    def _authorized(self, vendor: str, headers: dict) -> bool:
        return _presented(vendor, headers) == KEYS[vendor]

    def _pages(self, items: list, offset: str | None, limit: int) -> tuple[list, str | None]:
        start = int(offset or 0)
        size = min(limit, self.page_size)
        chunk = items[start: start + size]
        return chunk, (str(start + size) if start + size < len(items) else None)

    # Anthropic ---------------------------------------------------------------------------------

    def _anthropic(self, method, path, params, query, body):
        if path.endswith("/users"):
            return self._anthropic_list([{"id": i, "type": "user", "email": e, "name": n, "role": "developer",
                                          "added_at": "2025-01-01T00:00:00Z"} for i, e, n in self.anthropic_users], params)
        if path.endswith("/api_keys"):
            return self._anthropic_list([{"id": i, "type": "api_key", "name": n, "status": "active", "workspace_id": None,
                                          "created_at": "2025-01-01T00:00:00Z", "created_by": {"id": o, "type": "user"}}
                                         for i, n, o in self.anthropic_keys], params)
        if path.endswith("/usage_report/claude_code"):
            return 200, {"data": [], "has_more": False, "next_page": None}, {}
        start = date.fromisoformat(params["starting_at"][:10])
        end = date.fromisoformat(params["ending_at"][:10])
        days = [start + timedelta(days=i) for i in range((end - start).days)]
        if path.endswith("/usage_report/messages"):
            buckets = [{"starting_at": f"{d}T00:00:00Z", "ending_at": f"{d + timedelta(days=1)}T00:00:00Z",
                        "results": [_anthropic_result(e) for e in self.usage["anthropic"].get(d, [])]} for d in days]
        elif path.endswith("/cost_report"):
            buckets = [{"starting_at": f"{d}T00:00:00Z", "ending_at": f"{d + timedelta(days=1)}T00:00:00Z",
                        "results": [{"amount": f"{self.cost_cents['anthropic'][d]:.4f}", "currency": "USD",
                                     "workspace_id": None, "description": "Claude usage", "cost_type": "tokens",
                                     "model": None}] if d in self.cost_cents["anthropic"] else []} for d in days]
        else:
            return 404, {"error": {"type": "not_found_error", "message": path}}, {}
        chunk, following = self._pages(buckets, params.get("page"), int(params.get("limit", 7)))
        return 200, {"data": chunk, "has_more": following is not None, "next_page": following}, {}

    def _anthropic_list(self, items, params):
        ids = [item["id"] for item in items]
        start = ids.index(params["after_id"]) + 1 if params.get("after_id") in ids else 0
        chunk = items[start: start + min(int(params.get("limit", 20)), self.page_size)]
        more = start + len(chunk) < len(items)
        return 200, {"data": chunk, "has_more": more, "first_id": chunk[0]["id"] if chunk else None,
                     "last_id": chunk[-1]["id"] if chunk else None}, {}

    # OpenAI ------------------------------------------------------------------------------------

    def _openai(self, method, path, params, query, body):
        if path.endswith("/organization/users"):
            return self._openai_list([{"object": "organization.user", "id": i, "email": e, "name": e.split("@")[0],
                                       "role": "reader", "added_at": 1700000000} for i, e in self.openai_users], params)
        if path.endswith("/organization/projects"):
            return self._openai_list([{"object": "organization.project", "id": "proj_1", "name": "Default",
                                       "status": "active"}], params)
        if path.endswith("/api_keys"):
            return self._openai_list([{"object": "organization.project.api_key", "id": "key_ci", "name": "ci",
                                       "redacted_value": "sk-...ci", "owner": {"type": "service_account",
                                                                                "service_account": {"id": "svc_1"}}}],
                                     params)
        start, end = int(params["start_time"]), int(params["end_time"])
        edges = [start + (self.openai_first_bucket_shift if start % 86400 == 0 else 0)]
        while edges[-1] < end:
            edges.append(min(end, (edges[-1] // 86400 + 1) * 86400))
        buckets = []
        for low, high in zip(edges, edges[1:], strict=False):
            day = day_of(low)
            if path.endswith("/usage/completions"):
                results = [_openai_result(e) for e in self.usage["openai"].get(day, [])]
            elif path.endswith("/costs"):
                cents = self.cost_cents["openai"].get(day)
                results = [] if cents is None else [
                    {"object": "organization.costs.result", "amount": {"value": str(cents / 100), "currency": "usd"},
                     "line_item": "gpt-4o, input", "project_id": "proj_1", "api_key_id": None, "quantity": 1}]
            else:
                results = []
            buckets.append({"object": "bucket", "start_time": low, "end_time": high, "results": results})
        chunk, following = self._pages(buckets, params.get("page"), int(params.get("limit", 7)))
        return 200, {"object": "page", "data": chunk, "has_more": following is not None, "next_page": following}, {}

    def _openai_list(self, items, params):
        ids = [item["id"] for item in items]
        start = ids.index(params["after"]) + 1 if params.get("after") in ids else 0
        chunk = items[start: start + min(int(params.get("limit", 20)), self.page_size)]
        return 200, {"object": "list", "data": chunk, "first_id": chunk[0]["id"] if chunk else None,
                     "last_id": chunk[-1]["id"] if chunk else None, "has_more": start + len(chunk) < len(items)}, {}

    # Cursor ------------------------------------------------------------------------------------

    def _cursor(self, method, path, params, query, body):
        if path.endswith("/teams/members"):
            return 200, {"teamMembers": [{"name": n, "email": e, "role": "member"} for n, e in self.cursor_members]}, {}
        if path.endswith("/teams/spend"):
            spend: dict[str, float] = {}
            for entries in self.usage["cursor"].values():
                for e in entries:
                    spend[e.who] = spend.get(e.who, 0) + e.cents
            cycle = min(self.usage["cursor"], default=date.today())
            return 200, {"teamMemberSpend": [{"spendCents": c, "email": w, "name": w, "role": "member",
                                              "fastPremiumRequests": 0} for w, c in sorted(spend.items())],
                         "subscriptionCycleStart": midnight(cycle) * 1000, "totalMembers": len(spend), "totalPages": 1}, {}
        start, end = body["startDate"] // 1000, body["endDate"] // 1000
        days = sorted(d for d in self.usage["cursor"] if start <= midnight(d) < end)
        if path.endswith("/teams/daily-usage-data"):
            rows = [{"date": midnight(d) * 1000, "email": e.who, "isActive": True, "agentRequests": 1,
                     "acceptedLinesAdded": 5} for d in days for e in self.usage["cursor"][d]]
            return 200, {"data": rows, "period": {"startDate": body["startDate"], "endDate": body["endDate"]}}, {}
        events = [{"timestamp": str((midnight(d) + 3600 * (i + 1)) * 1000), "userEmail": e.who, "model": e.model,
                   "kind": "Usage-based", "maxMode": False, "requestsCosts": 1, "isTokenBasedCall": True,
                   "tokenUsage": {"inputTokens": e.input, "outputTokens": e.output, "cacheWriteTokens": e.cache_write,
                                  "cacheReadTokens": e.cache_read, "totalCents": e.cents}, "isFreeBugbot": False}
                  for d in days for i, e in enumerate(self.usage["cursor"][d])]
        page, size = int(body.get("page", 1)), min(int(body.get("pageSize", 10)), self.page_size)
        chunk = events[(page - 1) * size: page * size]
        pages = max(1, -(-len(events) // size))
        return 200, {"totalUsageEventsCount": len(events), "usageEvents": chunk,
                     "pagination": {"numPages": pages, "currentPage": page, "pageSize": size,
                                    "hasNextPage": page < pages, "hasPreviousPage": page > 1},
                     "period": {"startDate": body["startDate"], "endDate": body["endDate"]}}, {}

    # GitHub ------------------------------------------------------------------------------------

    def _github(self, method, path, params, query, body):
        if path.startswith("/download/"):
            day = date.fromisoformat(path.rsplit("/", 1)[1].split(".")[0])
            lines = [json.dumps({"day": day.isoformat(), "user_id": i, "user_login": e.who, "organization_id": "1",
                                 "user_initiated_interaction_count": 3, "code_acceptance_activity_count": 2,
                                 "loc_added_sum": 10, "loc_deleted_sum": 1, "used_cli": True,
                                 "totals_by_cli": {"session_count": 1, "request_count": 4, "token_usage": {
                                     "prompt_tokens_sum": e.input, "output_tokens_sum": e.output}}})
                     for i, e in enumerate(self.usage["github"].get(day, []))]
            return 200, ("\n".join(lines) + "\n").encode(), {"Content-Type": "application/x-ndjson"}
        if not path.startswith("/orgs/acme/"):
            return 404, {"message": "Not Found"}, {}
        if path.endswith("/copilot/billing/seats"):
            per_page, page = int(params.get("per_page", 50)), int(params.get("page", 1))
            size = min(per_page, self.page_size)
            seats = [{"assignee": {"login": login, "id": i, "type": "User"}, "last_activity_at": None,
                      "plan_type": "business", "created_at": "2025-01-01T00:00:00Z"}
                     for i, login in enumerate(self.copilot_seats)]
            return 200, {"total_seats": len(seats), "seats": seats[(page - 1) * size: page * size]}, {}
        if path.endswith("/users-1-day"):
            day = date.fromisoformat(params["day"])
            if day not in self.usage["github"]:
                return 404, {"message": "No report for that day"}, {}
            return 200, {"download_links": [f"{self.url}/github/download/copilot/{day}.ndjson?sig=s3cr3t"],
                         "report_day": day.isoformat()}, {}
        return 404, {"message": "Not Found"}, {}


def _presented(vendor: str, headers: dict) -> str:
    if vendor == "anthropic":
        return headers.get("x-api-key", "") if headers.get("anthropic-version") else ""
    authorization = headers.get("authorization", "")
    if vendor == "cursor":
        try:
            return base64.b64decode(authorization.removeprefix("Basic ")).decode().removesuffix(":")
        except ValueError:
            return ""
    return authorization.removeprefix("Bearer ")


def _anthropic_result(e: Entry) -> dict:
    account = e.who if e.who and e.who.startswith("user_") else None
    key = e.who if e.who and e.who.startswith("apikey_") else None
    return {"account_id": account, "api_key_id": key, "service_account_id": None, "workspace_id": None,
            "model": e.model, "service_tier": None, "context_window": None, "inference_geo": None,
            "uncached_input_tokens": e.input, "cache_creation": {"ephemeral_5m_input_tokens": e.cache_write,
                                                                  "ephemeral_1h_input_tokens": 0},
            "cache_read_input_tokens": e.cache_read, "output_tokens": e.output,
            "server_tool_use": {"web_search_requests": 0}}


def _openai_result(e: Entry) -> dict:
    return {"object": "organization.usage.completions.result", "input_tokens": e.input + e.cache_read + e.cache_write,
            "output_tokens": e.output, "num_model_requests": 3, "input_cached_tokens": e.cache_read,
            "input_cache_write_tokens": e.cache_write, "project_id": "proj_1", "user_id": e.who, "api_key_id": None,
            "model": e.model, "batch": None, "service_tier": None}


def _handler(fake: FakeProviders):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):  # quiet: the tests read fake.requests
            pass

        def _serve(self, method: str):
            parts = urlsplit(self.path)
            vendor, _, rest = parts.path.lstrip("/").partition("/")
            path = "/" + rest.removeprefix("v1/") if vendor == "openai" else "/" + rest
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else None
            headers = {k.lower(): v for k, v in self.headers.items()}
            if vendor == "openai" and not rest.startswith("v1/"):
                path = "/__missing_v1__"
            result = fake.answer(vendor, method, path, parse_qsl(parts.query), body, headers)
            if result[0] == "delay":
                threading.Event().wait(result[1])
                result = fake.answer(vendor, method, path, parse_qsl(parts.query), body, headers, late=True)
                fake.requests.pop()  # the same request, answered late: counted once
            status, payload, extra = result
            data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", extra.pop("Content-Type", "application/json"))
            for name, value in extra.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # a client that gave up waiting
                self.wfile.write(data)

        def do_GET(self):
            self._serve("GET")

        def do_POST(self):
            self._serve("POST")

    return Handler


@pytest.fixture
def providers():
    fake = FakeProviders().start()
    yield fake
    fake.stop()
