"""A hostile roster: names, team names, notes, flag answers, model and provider strings carrying HTML,
script and spreadsheet formulas. Each surface shows them as text: pages, htmx fragments, SVG charts,
emails, CSV (formula prefixes escaped), JSON in pages and downloads."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import date

import pytest
from django.core import mail
from django.core.management import call_command
from django.test import Client

from accounts.models import ProviderIdentity
from leaderboard import notifications
from leaderboard.models import UsageExport
from tests import security_world
from tests.test_boards import save, usage

NAME = '<script>alert("name")</script>Erin'
MANAGER = '=HYPERLINK("http://evil.example","Maria")'
TEAM = '<img src=x onerror=alert("team")>Eng'
NOTE = '</textarea><script>alert("note")</script>'
ANSWER = '<iframe src="https://evil.example"></iframe>answer'
MODEL = '"><svg onload=alert("model")>'
VENDOR = '<b onmouseover=x>v</b>'
LABEL = "+SUM(1,2)<u>label</u>"
HOSTILE = [NAME, MANAGER, TEAM, NOTE, ANSWER, MODEL, VENDOR, LABEL]
# What would run if any of them were markup: none may appear raw in HTML.
ACTIVE = re.compile(r"<script(?![^>]*\bsrc=)|<img src=x|<svg onload|<iframe|<b onmouseover|<u>label", re.I)


@pytest.fixture
def world(cast, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.SITE_URL = "https://tokens.example.com"
    found = security_world.build(cast, note=NOTE, answer=ANSWER)
    cast.erin.name = NAME
    cast.erin.title = NAME
    cast.erin.save()
    cast.maria.name = MANAGER
    cast.maria.save()
    cast.engineering.name = TEAM
    cast.engineering.save()
    save([usage(cast.erin, 4, vendor=VENDOR, model=MODEL, tokens=50_000, output=5, cost="9.00")])
    ProviderIdentity.objects.filter(pk=found.identity.pk).update(label=LABEL, value=MODEL)
    UsageExport.objects.filter(pk=found.export.pk).update(original_name=NAME + ".csv")
    found.flag.explanation = f"{NAME} used 1% of the budget.\n{MODEL}"
    found.flag.save()
    return found


def assert_inert(html: str, where: str) -> None:
    found = ACTIVE.search(html)
    assert found is None, f"{where}: {html[max(0, found.start() - 120):found.end() + 120]}"


def as_(person) -> Client:
    client = Client()
    client.force_login(person)
    return client


PAGES = ["/", "/?period=7d&metric=cost", "/teams/", "/teams/{team}/", "/people/{erin}/", "/people/{erin}/?by=model",
         "/review/", "/review/{flag}/", "/identities/", "/imports/", "/imports/{export}/", "/budgets/",
         "/budgets/exemptions/", "/audit/", "/board/models/", "/admin/accounts/person/", "/admin/leaderboard/flag/"]


def fill(path, world):
    return path.format(team=world.cast.engineering.pk, erin=world.cast.erin.pk, flag=world.flag.pk,
                       export=world.export.pk)


def test_pages_show_hostile_strings_as_text(world):
    admin = as_(world.cast.ada)
    seen = ""
    for path in PAGES:
        response = admin.get(fill(path, world))
        assert response.status_code == 200, path
        html = response.content.decode()
        assert_inert(html, path)
        seen += html
    for text in ('&lt;script&gt;alert(&quot;name&quot;)&lt;/script&gt;Erin', "&lt;img src=x onerror",
                 "&lt;/textarea&gt;&lt;script&gt;", "&lt;iframe", "&quot;&gt;&lt;svg onload"):
        assert text in seen, text


def test_my_own_pages_show_them_as_text(world):
    erin = as_(world.cast.erin)
    for path in ("/", "/me/", "/me/?by=model", "/review/{flag}/", "/settings/"):
        assert_inert(erin.get(fill(path, world)).content.decode(), path)


def test_htmx_fragments_show_them_as_text(world):
    admin = as_(world.cast.ada)
    for path in ("/?period=30d", "/teams/", "/people/{erin}/?by=model", "/review/", "/board/models/",
                 "/teams/{team}/", "/imports/{export}/progress/"):
        response = admin.get(fill(path, world), HTTP_HX_REQUEST="true")
        assert_inert(response.content.decode(), f"{path} (htmx)")
    maria = Client()
    maria.force_login(world.cast.maria)
    response = maria.post(f"/review/{world.flag.pk}/note/", {"text": NOTE, "to_employee": "on"},
                          HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "&lt;/textarea&gt;" in response.content.decode()
    assert_inert(response.content.decode(), "flag note fragment")
    response = admin.post(f"/identities/{world.identity.pk}/map/", {"person": "erin@example.com", "action": "map"},
                          HTTP_HX_REQUEST="true")
    assert_inert(response.content.decode(), "identity row fragment")


def test_svg_charts_show_them_as_text(world):
    admin = as_(world.cast.ada)
    for path in ("/teams/{team}/", "/people/{erin}/?by=model", "/"):
        html = admin.get(fill(path, world)).content.decode()
        charts = re.findall(r"<svg.*?</svg>", html, re.S)
        assert charts, path
        for chart in charts:
            assert_inert(chart, f"chart on {path}")
            assert "style=" not in chart
    team_chart = admin.get(fill("/teams/{team}/", world)).content.decode()
    assert "&lt;img src=x onerror" in team_chart  # the team's name in the chart's title, as text


def test_emails_show_them_as_text(world, monkeypatch):
    from leaderboard import tasks

    monkeypatch.setattr(tasks.send_notification, "delay", lambda pk: notifications.send(pk))
    world.flag.severity = "high"
    world.flag.save()
    tasks.send_notifications(notifications.queue_new_flags([world.flag]))
    world.cast.maria.digest = "daily"
    world.cast.maria.save()
    tasks.send_notifications(notifications.queue_digests(today=date.today()))
    assert len(mail.outbox) >= 2
    for message in mail.outbox:
        html = message.alternatives[0][0]
        assert_inert(html, f"email {message.subject}")
        assert "&lt;script&gt;" in html
        assert "\n" not in message.subject and "\r" not in message.subject


def test_csv_downloads_escape_formulas_and_keep_text_as_text(world):
    maria = as_(world.cast.maria)
    for path in ("/board.csv", "/review.csv"):
        rows = list(csv.reader(io.StringIO(maria.get(path).content.decode())))
        cells = [cell for row in rows[1:] for cell in row]
        assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r") and not _number(c)], path
        assert any(NAME in c for c in cells), path  # the name is there, as text
    admin = as_(world.cast.ada)
    board = admin.get("/board.csv").content.decode()
    assert "'=HYPERLINK" in board  # Maria's name, defused


def test_the_leaderboard_command_escapes_formulas(world):
    out = io.StringIO()
    today = date.today()
    call_command("leaderboard", "--start", (today.replace(day=1) if today.day > 7 else date(today.year, 1, 1)
                                            ).isoformat(), "--end", today.isoformat(), "--format", "csv", stdout=out)
    cells = [cell for row in list(csv.reader(io.StringIO(out.getvalue())))[1:] for cell in row]
    assert "'" + MANAGER in cells


def test_json_in_pages_and_downloads_keeps_them_as_data(world):
    erin = as_(world.cast.erin)
    html = erin.get("/").content.decode()
    for blob in re.findall(r"hx-(?:headers|vals)='([^']*)'", html):
        json.loads(blob)  # parses: nothing broke out of it
    data = json.loads(erin.get("/me/data.json").content)
    assert data["person"]["name"] == NAME
    assert any(row["model"] == MODEL for row in data["usage_by_day_vendor_model"])


def _number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True
