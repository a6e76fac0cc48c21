"""A believable demo company, built the way a real one arrives: a roster CSV and provider exports
in the providers' own formats, imported through the same code as an admin's uploads.

About 160 people in 14 teams with three management levels, people on leave, a recent joiner, a
departed colleague's CI key, mixed privacy choices, and ~120 days of usage with the shapes the
flags look for (light users, someone who stopped, someone whose usage fell off, a runaway day).
Everything is seeded: the same day gives the same files, so running the demo twice imports
nothing twice (the exports are recognised by their bytes), and on another day the overlapping
exports replace rather than add.
"""

from __future__ import annotations

import csv
import io
import json
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.files import File
from django.db import transaction

from accounts.models import Person, Team
from leaderboard.roster import import_roster

from . import flags, imports, pricing
from .models import BudgetPolicy, UsageExport

DOMAIN = "demo.example"
PASSWORD = "leaderboard-demo"
DAYS = 120
ADMIN_EMAIL = f"admin@{DOMAIN}"

FIRST = ["Ada", "Ben", "Chloe", "Dana", "Eli", "Farah", "Gus", "Hana", "Ivan", "Jae", "Kofi", "Lena", "Mateo", "Nia", "Omar", "Priya", "Quinn", "Rosa", "Sami", "Tariq", "Uma", "Vik", "Wen", "Xena", "Yusuf", "Zoe", "Aiko", "Bruno", "Carmen", "Diego", "Esme", "Felix", "Greta", "Hugo", "Ines", "Jonas", "Kira", "Luca", "Mei", "Noor"]
LAST = ["Brooks", "Nguyen", "Vogel", "Murphy", "Khan", "Okafor", "Sato", "Larsen", "Bruno", "Singh", "Hassan", "Aziz", "Costa", "Meyer", "Novak", "Reyes", "Park", "Rossi", "Silva", "Tanaka", "Weber", "Young", "Ali", "Berg", "Cho", "Diaz"]

# (team, parent, size, lead title, member title)
TEAMS = [
    ("Engineering", None, 0, "VP Engineering", ""),
    ("Platform", "Engineering", 14, "Engineering Manager", "Software Engineer"),
    ("Payments", "Engineering", 13, "Engineering Manager", "Software Engineer"),
    ("Mobile", "Engineering", 12, "Engineering Manager", "Mobile Engineer"),
    ("Web", "Engineering", 14, "Engineering Manager", "Frontend Engineer"),
    ("Data", "Engineering", 12, "Data Lead", "Data Engineer"),
    ("Machine Learning", "Engineering", 11, "ML Lead", "ML Engineer"),
    ("Infrastructure", "Engineering", 12, "Engineering Manager", "SRE"),
    ("Security", "Engineering", 9, "Security Lead", "Security Engineer"),
    ("Product", None, 10, "Head of Product", "Product Manager"),
    ("Design", None, 9, "Head of Design", "Product Designer"),
    ("Support", None, 12, "Support Lead", "Support Engineer"),
    ("Sales", None, 12, "Head of Sales", "Account Executive"),
    ("Finance Ops", None, 8, "Finance Lead", "Analyst"),
]

# Daily tokens (millions) on a working day, by kind of user. Weekends run at a fifth.
PROFILES = {
    "power": (110, 260),
    "regular": (25, 80),
    "light": (1.5, 6),
    "rare": (0.3, 2),
}
ANTHROPIC_MODELS = ["claude-sonnet-4-5-20250929", "claude-opus-4-6", "claude-haiku-4-5-20251001"]
OPENAI_MODELS = ["gpt-5.2-2025-12-11", "gpt-5-mini-2025-08-07"]
CURSOR_MODELS = ["claude-4.5-sonnet-thinking", "gpt-5", "composer-2.5"]


@dataclass
class DemoPerson:
    email: str
    name: str
    team: str
    manager: str
    title: str
    start: date
    status: str = "active"
    salary: int = 0
    github: str = ""
    profile: str = "regular"
    vendors: tuple[str, ...] = ()
    # Shapes the flags should find.
    stops_on: date | None = None
    leave_from: date | None = None
    fades_from: date | None = None
    spike_on: date | None = None
    privacy: str = "named"
    ids: dict = field(default_factory=dict)


@dataclass
class DemoResult:
    people: int
    files: list[tuple[str, str]]  # (file name, outcome)


def logins() -> list[tuple[str, str]]:
    """The three logins the demo is meant to be explored with: (role, email)."""
    manager = Person.objects.filter(email__endswith=f"@{DOMAIN}", title="Engineering Manager").order_by("email").first()
    employee = Person.objects.filter(manager=manager, status=Person.Status.ACTIVE).order_by("email").first()
    return [
        ("admin", ADMIN_EMAIL),
        ("manager", manager.email if manager else "-"),
        ("employee", employee.email if employee else "-"),
    ]


def is_loaded() -> bool:
    return Person.objects.filter(email=ADMIN_EMAIL).exists()


def build(*, folder: Path, today: date | None = None) -> DemoResult:
    """Write the demo company's files into ``folder`` and import them; safe to run again."""
    today = today or datetime.now(UTC).date()
    end = today - timedelta(days=1)
    start = end - timedelta(days=DAYS - 1)
    rng = random.Random(f"demo-{end}")
    people = _people(rng, end)
    folder.mkdir(parents=True, exist_ok=True)

    roster = folder / "roster.csv"
    roster.write_text(_roster_csv(people))
    import_roster(path=roster, name="roster.csv")
    _set_up_logins(people, rng)

    _set_up_budgets(start)
    files = _write_exports(folder, people, rng, start, end)
    outcomes = []
    for path, owner in files:
        attributed = Person.objects.get(email=owner) if owner else None
        with path.open("rb") as handle:
            export, created = imports.store_export(
                content=File(handle, name=path.name), name=path.name, origin=UsageExport.Origin.DEMO,
                attributed_to=attributed,
            )
        if created or export.status != UsageExport.Status.SUCCEEDED:
            imports.retry_export(export)
            processed = imports.process_export(export.pk)
            export = processed.export if processed else export
            outcomes.append((path.name, export.status))
        else:
            outcomes.append((path.name, "already imported"))
    # What the daily beat job would have found this morning.
    flags.evaluate(as_of=today)
    return DemoResult(people=len(people), files=outcomes)


# Teams whose work needs less AI get a smaller budget than the $100 a working day default, as a
# company would set it: their light use is then not "underuse".
LIGHT_TEAMS = {"Support": 20, "Sales": 20, "Design": 30, "Product": 30, "Finance Ops": 15}


def _set_up_budgets(start: date) -> None:
    for team in Team.objects.filter(name__in=LIGHT_TEAMS):
        BudgetPolicy.objects.get_or_create(
            scope=BudgetPolicy.Scope.TEAM, team=team, effective_from=start - timedelta(days=365),
            defaults={"kind": BudgetPolicy.Kind.PER_WORKING_DAY, "amount_usd": LIGHT_TEAMS[team.name],
                      "note": "Demo: a smaller budget for a team whose work needs less AI."},
        )


# --- The company ------------------------------------------------------------------------------


def _people(rng: random.Random, end: date) -> list[DemoPerson]:
    used = set()

    def person(team, manager, title, start, **extra):
        while True:
            first, last = rng.choice(FIRST), rng.choice(LAST)
            email = f"{first.lower()}.{last.lower()}@{DOMAIN}"
            if email not in used:
                used.add(email)
                break
        return DemoPerson(
            email=email, name=f"{first} {last}", team=team, manager=manager, title=title, start=start,
            salary=rng.choice([140_000, 165_000, 180_000, 210_000, 250_000, 320_000]),
            github=f"{first.lower()}-{last.lower()}-demo", **extra,
        )

    long_ago = end - timedelta(days=900)
    cto = person("Engineering", "", "CTO", long_ago, profile="regular", vendors=("anthropic", "openai"))
    people = [cto]
    leads = {}
    for name, _parent, size, lead_title, member_title in TEAMS:
        if size == 0:
            continue
        lead = person(name, cto.email, lead_title, long_ago, profile="regular",
                      vendors=_vendors(rng, name))
        leads[name] = lead
        people.append(lead)
        for _ in range(size):
            joined = end - timedelta(days=rng.randint(150, 1500))
            people.append(person(name, lead.email, member_title, joined, profile=_profile(rng, name),
                                 vendors=_vendors(rng, name)))

    members = [p for p in people if p.title not in ("CTO",) and p.email not in {lead.email for lead in leads.values()}]
    engineers = [p for p in members if p.team in {t[0] for t in TEAMS if t[1] == "Engineering"}]
    # The shapes a manager should see in their queue, spread over several teams.
    for p in rng.sample(engineers, 3):
        p.stops_on = end - timedelta(days=rng.randint(16, 25))
    for p in rng.sample([e for e in engineers if not e.stops_on], 3):
        p.fades_from = end - timedelta(days=14)
    for p in rng.sample([e for e in engineers if not (e.stops_on or e.fades_from)], 2):
        p.spike_on = end - timedelta(days=rng.randint(1, 6))
        p.profile = "power"
    for p in rng.sample([m for m in members if not (m.stops_on or m.fades_from or m.spike_on)], 3):
        p.status = "leave"
        p.leave_from = end - timedelta(days=rng.randint(10, 40))
    newcomer = person("Web", leads["Web"].email, "Frontend Engineer", end - timedelta(days=9), profile="light",
                      vendors=("anthropic", "cursor"))
    people.append(newcomer)
    for p in rng.sample(members, 18):
        p.privacy = "anonymous"
    for p in rng.sample([m for m in members if m.privacy == "named"], 6):
        p.privacy = "hidden"
    return people


def _profile(rng: random.Random, team: str) -> str:
    technical = team not in ("Sales", "Finance Ops", "Support", "Design", "Product")
    weights = (
        {"power": 14, "regular": 64, "light": 15, "rare": 7} if technical
        else {"power": 2, "regular": 48, "light": 35, "rare": 15}
    )
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _vendors(rng: random.Random, team: str) -> tuple[str, ...]:
    vendors = ["anthropic"]
    if rng.random() < 0.55:
        vendors.append("openai")
    if team not in ("Sales", "Finance Ops", "Support") and rng.random() < 0.45:
        vendors.append("cursor")
    if team not in ("Sales", "Finance Ops") and rng.random() < 0.5:
        vendors.append("github")
    return tuple(vendors)


def _roster_csv(people: list[DemoPerson]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["email", "name", "team", "manager_email", "title", "start_date", "status",
                     "annual_base_salary", "github_login"])
    for p in people:
        writer.writerow([p.email, p.name, p.team, p.manager, p.title, p.start.isoformat(), p.status, p.salary,
                         p.github])
    return out.getvalue()


@transaction.atomic
def _set_up_logins(people: list[DemoPerson], rng: random.Random) -> None:
    """Team hierarchy, privacy choices and passwords: what people set in the app, not the roster."""
    teams = {team.name: team for team in Team.objects.all()}
    for name, parent, *_ in TEAMS:
        if parent and teams[name].parent_id != teams[parent].pk:
            teams[name].parent = teams[parent]
            teams[name].save(update_fields=["parent"])
    choices = {p.email: p.privacy for p in people}
    # One hash for everyone: hashing 160 passwords one by one costs most of a minute.
    password = make_password(PASSWORD)
    for person in Person.objects.filter(email__in=list(choices)):
        updates = []
        if person.privacy != choices[person.email]:
            person.privacy = choices[person.email]
            updates.append("privacy")
        if not person.has_usable_password():
            person.password = password
            updates.append("password")
        if updates:
            person.save(update_fields=updates)
    if not Person.objects.filter(email=ADMIN_EMAIL).exists():
        Person.objects.create_user(ADMIN_EMAIL, PASSWORD, name="Demo Admin", title="IT Admin", is_staff=True,
                                   is_superuser=True, start_date=date(2020, 1, 6))


# --- The usage --------------------------------------------------------------------------------


def _daily_millions(p: DemoPerson, day: date, rng: random.Random) -> float:
    if day < p.start:
        return 0.0
    if (p.stops_on and day >= p.stops_on) or (p.leave_from and day >= p.leave_from):
        return 0.0
    low, high = PROFILES[p.profile]
    amount = rng.uniform(low, high)
    if day.weekday() >= 5:
        amount *= 0.2 if rng.random() < 0.6 else 0.0
    if p.profile == "rare" and rng.random() < 0.6:
        amount = 0.0
    if p.fades_from and day >= p.fades_from:
        amount *= 0.08
    if p.spike_on == day:
        amount *= 25
    return amount


def _split(total_tokens: float, rng: random.Random) -> dict[str, int]:
    """Agentic coding is mostly cache reads; a small share is fresh input and output."""
    total = int(total_tokens)
    cache_read = int(total * rng.uniform(0.82, 0.9))
    cache_write = int(total * rng.uniform(0.04, 0.07))
    output = int(total * rng.uniform(0.015, 0.03))
    return {"input": max(0, total - cache_read - cache_write - output), "cache_write": cache_write,
            "cache_read": cache_read, "output": output}


def _ts(day: date) -> str:
    return f"{day.isoformat()}T00:00:00Z"


def _write_exports(folder: Path, people, rng, start: date, end: date) -> list[tuple[Path, str | None]]:
    days = [start + timedelta(days=n) for n in range((end - start).days + 1)]
    active = people
    for p in active:
        p.ids = {
            "anthropic": f"user_{rng.getrandbits(64):016X}",
            "openai": f"user-{rng.getrandbits(64):016x}",
            "key": f"apikey_{rng.getrandbits(64):016X}",
        }
    usage = {(p.email, d): _daily_millions(p, d, rng) * 1_000_000 for p in active for d in days}
    files: list[tuple[Path, str | None]] = []

    def write(name: str, text: str, owner: str | None = None):
        path = folder / name
        path.write_text(text)
        files.append((path, owner))

    anthropic_people = [p for p in active if "anthropic" in p.vendors]
    departed = "user_01DEPARTEDDEMO0000000000"
    write("anthropic_users.json", json.dumps({"data": [
        {"id": p.ids["anthropic"], "type": "user", "email": p.email, "name": p.name, "role": "developer",
         "added_at": _ts(p.start)} for p in anthropic_people], "has_more": False, "first_id": None, "last_id": None}))
    keyed = anthropic_people[::4]
    write("anthropic_api_keys.json", json.dumps({"data": [
        {"id": p.ids["key"], "type": "api_key", "name": f"{p.email.split('@')[0]}-laptop", "status": "active",
         "workspace_id": None, "created_at": _ts(p.start), "created_by": {"id": p.ids["anthropic"], "type": "user"}}
        for p in keyed] + [
        {"id": "apikey_DEMOCIBOT", "type": "api_key", "name": "ci-release-bot", "status": "active",
         "workspace_id": None, "created_at": _ts(start), "created_by": {"id": departed, "type": "user"}}],
        "has_more": False}))
    write("openai_users.json", json.dumps({"object": "list", "data": [
        {"object": "organization.user", "id": p.ids["openai"], "email": p.email, "name": p.name, "role": "reader",
         "added_at": 1767225600} for p in active if "openai" in p.vendors], "has_more": False}))

    # Anthropic Admin API usage report, a page per week, one page per line (JSON Lines).
    pages = []
    for week in range(0, len(days), 7):
        buckets = []
        for day in days[week: week + 7]:
            results = []
            for p in anthropic_people:
                share = 0.7 if "cursor" in p.vendors or "openai" in p.vendors else 1.0
                tokens = usage[(p.email, day)] * share
                if tokens <= 0:
                    continue
                for model, weight in zip(ANTHROPIC_MODELS, (0.6, 0.3, 0.1), strict=True):
                    split = _split(tokens * weight, rng)
                    identity = {"account_id": None, "api_key_id": p.ids["key"]} if p in keyed and model.endswith(
                        "1001") else {"account_id": p.ids["anthropic"], "api_key_id": None}
                    results.append(_anthropic_result(identity, model, split))
            if day.weekday() < 5:
                results.append(_anthropic_result({"account_id": None, "api_key_id": "apikey_DEMOCIBOT"},
                                                  ANTHROPIC_MODELS[2], _split(rng.uniform(2e6, 6e6), rng)))
            buckets.append({"starting_at": _ts(day), "ending_at": _ts(day + timedelta(days=1)), "results": results})
        pages.append({"data": buckets, "has_more": week + 7 < len(days), "next_page": None})
    write("anthropic_usage_report.jsonl", "\n".join(json.dumps(page) for page in pages) + "\n")

    # Claude Code analytics: sessions, lines, commits (and, at lower precedence, the same tokens).
    cc_pages = []
    for day in days:
        records = []
        for p in anthropic_people:
            tokens = usage[(p.email, day)] * 0.5
            if tokens <= 0 or p.team in ("Sales", "Finance Ops"):
                continue
            split = _split(tokens, rng)
            sessions = max(1, int(tokens / 8e6))
            records.append({
                "date": _ts(day), "actor": {"type": "user_actor", "email_address": p.email},
                "organization_id": "demo-org", "customer_type": "api", "subscription_type": None,
                "terminal_type": rng.choice(["vscode", "iTerm.app", "tmux"]), "is_remote": False,
                "core_metrics": {"num_sessions": sessions,
                                 "lines_of_code": {"added": sessions * rng.randint(20, 180),
                                                   "removed": sessions * rng.randint(5, 60)},
                                 "commits_by_claude_code": rng.randint(0, sessions),
                                 "pull_requests_by_claude_code": rng.randint(0, 1)},
                "tool_actions": {"edit_tool": {"accepted": sessions * rng.randint(3, 12), "rejected": rng.randint(0, 3)}},
                "model_breakdown": [{"model": ANTHROPIC_MODELS[0],
                                     "tokens": {"input": split["input"], "output": split["output"],
                                                "cache_read": split["cache_read"], "cache_creation": split["cache_write"]},
                                     "estimated_cost": {"currency": "USD", "amount": round(tokens / 1e6 * 45)}}],
            })
        cc_pages.append({"data": records, "has_more": False, "next_page": None})
    write("claude_code_analytics.jsonl", "\n".join(json.dumps(page) for page in cc_pages) + "\n")

    # OpenAI usage API pages (a JSON array of weekly pages), grouped by user and model.
    openai_people = [p for p in active if "openai" in p.vendors]
    openai_pages = []
    for week in range(0, len(days), 7):
        buckets = []
        for day in days[week: week + 7]:
            stamp = int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())
            results = []
            for p in openai_people:
                tokens = usage[(p.email, day)] * 0.25
                if tokens <= 0:
                    continue
                for model, weight in zip(OPENAI_MODELS, (0.7, 0.3), strict=True):
                    split = _split(tokens * weight, rng)
                    results.append({
                        "object": "organization.usage.completions.result",
                        "input_tokens": split["input"] + split["cache_read"], "output_tokens": split["output"],
                        "num_model_requests": max(1, int(tokens * weight / 40_000)),
                        "input_cached_tokens": split["cache_read"], "input_cache_write_tokens": 0,
                        "project_id": None, "user_id": p.ids["openai"], "api_key_id": None, "model": model,
                        "batch": None, "service_tier": None,
                    })
            buckets.append({"object": "bucket", "start_time": stamp, "end_time": stamp + 86400, "results": results})
        openai_pages.append({"object": "page", "data": buckets, "has_more": False, "next_page": None})
    write("openai_usage_completions.json", json.dumps(openai_pages))

    # Cursor Admin API usage events: a handful of requests per active day.
    events = []
    for p in (p for p in active if "cursor" in p.vendors):
        for day in days:
            tokens = usage[(p.email, day)] * 0.15
            if tokens <= 0:
                continue
            count = rng.randint(2, 6)
            for n in range(count):
                split = _split(tokens / count, rng)
                moment = datetime(day.year, day.month, day.day, 8 + n * 2, rng.randint(0, 59), tzinfo=UTC)
                events.append({
                    "timestamp": str(int(moment.timestamp() * 1000) + rng.randint(0, 999)),
                    "model": rng.choice(CURSOR_MODELS), "kind": "Usage-based", "maxMode": False, "requestsCosts": 1,
                    "isTokenBasedCall": True, "isFreeBugbot": False, "userEmail": p.email,
                    "tokenUsage": {"inputTokens": split["input"], "outputTokens": split["output"],
                                   "cacheWriteTokens": split["cache_write"], "cacheReadTokens": split["cache_read"],
                                   "totalCents": round(tokens / count / 1e6 * 60, 5)},
                })
    pages = [events[i: i + 500] for i in range(0, len(events), 500)]
    write("cursor_usage_events.json", json.dumps([
        {"totalUsageEventsCount": len(events),
         "pagination": {"numPages": len(pages), "currentPage": n + 1, "pageSize": 500,
                        "hasNextPage": n + 1 < len(pages), "hasPreviousPage": n > 0},
         "usageEvents": page} for n, page in enumerate(pages)]))

    # GitHub Copilot: per-user daily activity (NDJSON) and the seats list.
    copilot = [p for p in active if "github" in p.vendors]
    lines = []
    for p in copilot:
        for day in days:
            if usage[(p.email, day)] <= 0:
                continue
            interactions = rng.randint(5, 60)
            row = {"day": day.isoformat(), "user_id": rng.randint(10**6, 10**8), "user_login": p.github,
                   "organization_id": "demo", "enterprise_id": "demo", "user_initiated_interaction_count": interactions,
                   "code_generation_activity_count": interactions * 2, "code_acceptance_activity_count": interactions,
                   "loc_suggested_to_add_sum": interactions * 20, "loc_suggested_to_delete_sum": 0,
                   "loc_added_sum": interactions * 8, "loc_deleted_sum": interactions * 2,
                   "used_chat": True, "used_agent": rng.random() < 0.5, "used_cli": False}
            lines.append(json.dumps(row))
    write("copilot_users_1_day.ndjson", "\n".join(lines) + "\n")
    write("copilot_seats.json", json.dumps({"total_seats": len(copilot), "seats": [
        {"created_at": _ts(start), "pending_cancellation_date": None,
         "last_activity_at": None if p.stops_on and p.stops_on < start else _ts(p.stops_on or end),
         "plan_type": "business", "assignee": {"login": p.github, "id": n, "type": "User"}, "assigning_team": None}
        for n, p in enumerate(copilot)]}))

    # ccusage from two laptops, uploaded for their owners.
    for p in [p for p in anthropic_people if p.profile == "power"][:2]:
        daily = []
        for day in days[-30:]:
            tokens = usage[(p.email, day)] * 0.3
            if tokens <= 0:
                continue
            split = _split(tokens, rng)
            # Priced as ccusage prices it, by the list: the self-report checks hold a mispriced file.
            cost = round(float(pricing.estimate(pricing.unit_prices("anthropic", ANTHROPIC_MODELS[1]), **split)), 4)
            daily.append({"date": day.isoformat(), "inputTokens": split["input"], "outputTokens": split["output"],
                          "cacheCreationTokens": split["cache_write"], "cacheReadTokens": split["cache_read"],
                          "totalTokens": sum(split.values()), "totalCost": cost,
                          "modelsUsed": [ANTHROPIC_MODELS[1]],
                          "modelBreakdowns": [{"modelName": ANTHROPIC_MODELS[1], "inputTokens": split["input"],
                                               "outputTokens": split["output"],
                                               "cacheCreationTokens": split["cache_write"],
                                               "cacheReadTokens": split["cache_read"],
                                               "cost": cost}]})
        write(f"ccusage_{p.email.split('@')[0]}.json", json.dumps({"daily": daily}), owner=p.email)

    # A provider without an importer, through the generic CSV.
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["date", "email", "provider", "model", "input_tokens", "output_tokens", "cache_read_tokens",
                     "cache_write_tokens", "requests", "cost_usd"])
    for p in [p for p in active if p.team == "Machine Learning"]:
        for day in days:
            tokens = usage[(p.email, day)] * 0.1
            if tokens > 0:
                split = _split(tokens, rng)
                writer.writerow([day.isoformat(), p.email, "mistral", "mistral-large-2", split["input"],
                                 split["output"], split["cache_read"], split["cache_write"], rng.randint(5, 80),
                                 f"{tokens / 1e6 * 0.8:.2f}"])
    write("mistral_usage.csv", out.getvalue())
    return files


def _anthropic_result(identity: dict, model: str, split: dict[str, int]) -> dict:
    return {
        **identity, "service_account_id": None, "workspace_id": None, "model": model, "service_tier": None,
        "context_window": None, "inference_geo": None, "uncached_input_tokens": split["input"],
        "cache_creation": {"ephemeral_5m_input_tokens": split["cache_write"], "ephemeral_1h_input_tokens": 0},
        "cache_read_input_tokens": split["cache_read"], "output_tokens": split["output"],
        "server_tool_use": {"web_search_requests": 0},
    }


def demo_folder() -> Path:
    return Path(settings.VAR_DIR) / "demo"
