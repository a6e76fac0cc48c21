"""The people of the load test, for locust: employees reading the boards, managers working their review
queue, and two coding agents sending telemetry. ``LOADTEST_PLAN`` names the JSON file that
loadtest/__main__.py wrote: the session cookies of real people of the benchmark company, the flags in
each manager's line, the teams, and an ingest token.

Each request is named for the page it stands for, so that locust reports a line per page."""

from __future__ import annotations

import itertools
import json
import os
import random
import time

from locust import HttpUser, between, constant_throughput, task

PLAN = json.loads(open(os.environ["LOADTEST_PLAN"]).read())  # noqa: SIM115 - read once at start
PERIODS = ["7d", "30d", "month", "quarter"]
METRICS = ["tokens", "output", "cost", "active_days"]
_employees = itertools.cycle(PLAN["employees"])
_managers = itertools.cycle(PLAN["managers"])
_agent_minutes = itertools.count()


class Person(HttpUser):
    abstract = True
    # Somebody reading a page before opening the next: a few seconds.
    wait_time = between(2.0, 6.0)
    plan: dict

    def on_start(self):
        self.client.cookies.set("sessionid", self.plan["session"])
        # Any page sets the CSRF cookie (base.html hands the token to htmx).
        self.page("/me/", "my usage", "Rank by")
        self.csrf = self.client.cookies.get("csrftoken", "")

    def page(self, path: str, name: str, marker: str, **kwargs):
        with self.client.get(path, name=name, catch_response=True, **kwargs) as response:
            if response.status_code != 200:
                response.failure(f"HTTP {response.status_code}")
            elif "/login/" in response.url:
                response.failure("sent to the login page")
            elif marker not in response.text:
                response.failure(f"{marker!r} not in the page")
            return response


class Employee(Person):
    """The board with its filters, the team board, my usage, now and then the CSV."""

    weight = 4

    def on_start(self):
        self.plan = next(_employees)
        super().on_start()

    @task(6)
    def board(self):
        self.page("/?period=30d&metric=tokens", "board: 30 days, tokens", 'class="board-table')

    @task(4)
    def board_filtered(self):
        period, metric = random.choice(PERIODS), random.choice(METRICS)
        self.page(f"/?period={period}&metric={metric}", "board: other period and metric", 'class="board-table')

    @task(2)
    def board_vendor(self):
        vendor = random.choice(["anthropic", "openai", "cursor"])
        self.page(f"/?period=30d&metric=cost&vendor={vendor}", "board: one vendor", 'class="board-table')

    @task(2)
    def board_team(self):
        self.page(f"/?period=30d&metric=tokens&team={self.plan['team']}", "board: my team", 'class="board-table')

    @task(2)
    def board_year_page(self):
        self.page(f"/?period=year&metric=tokens&page={random.randint(2, 20)}", "board: year, a later page",
                  'class="board-table')

    @task(2)
    def teams(self):
        self.page("/teams/", "teams", "teams-table")

    @task(4)
    def me(self):
        self.page("/me/", "my usage", "Rank by")

    @task(1)
    def csv(self):
        with self.client.get("/board.csv?period=30d&metric=tokens", name="board CSV", catch_response=True) as response:
            if response.status_code != 200 or not response.headers.get("Content-Type", "").startswith("text/csv"):
                response.failure(f"HTTP {response.status_code} {response.headers.get('Content-Type')}")


class Manager(Person):
    """The review queue, a flag, and what a manager does with it: a note, acknowledge, snooze."""

    weight = 1

    def on_start(self):
        self.plan = next(_managers)
        super().on_start()

    def flag(self) -> int:
        return random.choice(self.plan["flags"])

    @task(4)
    def queue(self):
        self.page("/review/", "review queue", "Review")

    @task(2)
    def queue_filtered(self):
        self.page("/review/?status=all&sort=severity", "review queue, filtered", "Review")

    @task(3)
    def flag_page(self):
        self.page(f"/review/{self.flag()}/", "a flag", "flag")

    @task(2)
    def note(self):
        self.act("note", {"text": "Talked about it in our one-to-one."})

    @task(1)
    def acknowledge(self):
        self.act("acknowledge", {})

    @task(1)
    def snooze(self):
        self.act("snooze", {"until": time.strftime("%Y-%m-%d", time.gmtime(time.time() + 7 * 86400))})

    def act(self, action: str, data: dict):
        """As htmx sends it from the queue: the row comes back in place."""
        headers = {"X-CSRFToken": self.csrf, "HX-Request": "true", "Referer": self.host + "/review/"}
        with self.client.post(f"/review/{self.flag()}/{action}/", data={**data, "from": "queue"}, headers=headers,
                              name=f"flag action: {action}", catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"HTTP {response.status_code}")


class Agent(HttpUser):
    """A coding agent's OTLP exporter: a batch of Claude Code metrics (OTLP/JSON) every so often, each
    for another person and minute."""

    fixed_count = 2
    wait_time = constant_throughput(PLAN["telemetry_per_second"] / 2)

    @task
    def export(self):
        from tests import telemetry_bodies as made

        index = next(_agent_minutes)
        people = PLAN["agent_emails"]
        person, minute = index % len(people), index // len(people)
        end = made.now_ns() - 3 * 60 * made.MINUTE + minute * made.MINUTE + person
        body = made.as_json(made.claude_code_metrics(email=people[person], start=end - made.MINUTE, end=end,
                                                     account_id=None, user_id=f"load{person}"))
        headers = {"Authorization": f"Bearer {PLAN['token']}", "Content-Type": "application/json"}
        with self.client.post("/otlp/v1/metrics", data=body, headers=headers, name="telemetry (OTLP/JSON)",
                              catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"HTTP {response.status_code}")
