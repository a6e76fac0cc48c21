"""The scripted attack set (issue 17's "Done when"): each attempt is refused and leaves nothing
behind. Forged POSTs, guessed ids, bombs, traversal and oversize files, 30 wrong passwords; hostile
names are in test_hostile_output.py and the role-by-role matrix in test_permission_matrix.py."""

from __future__ import annotations

import gzip
import io
import zipfile
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from leaderboard import imports
from leaderboard.models import DailyUsage, Flag, FlagNote, UsageExport
from tests import security_world
from tests.conftest import PASSWORD
from tests.test_permission_matrix import snapshot

HEADER = b"date,email,provider,model,input_tokens,output_tokens,cache_read_tokens,cache_write_tokens,requests,cost_usd\n"
ROW = b"2026-10-01,erin@example.com,mistral,mistral-large,1000,200,30,4,3,0.50\n"


@pytest.fixture
def world(cast, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return security_world.build(cast)


def upload_as_admin(world, name: str, content: bytes, sent_tasks) -> UsageExport:
    client = Client()
    client.force_login(world.cast.ada)
    newest = UsageExport.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    client.post("/imports/", {"files": [SimpleUploadedFile(name, content)]})
    export = UsageExport.objects.filter(pk__gt=newest).get()
    if export.status == UsageExport.Status.QUEUED:  # as the worker would (the queue is not this test's)
        imports.process_export(export.pk)
    export.refresh_from_db()
    return export


# --- Forged requests ----------------------------------------------------------------------------------


FORGED = [
    ("/budgets/", {"scope": "org", "kind": "day", "amount_usd": "1", "effective_from": "2099-01-01"}, "ada"),
    ("/review/{flag}/dismiss/", {"reason": "other", "text": "forged"}, "maria"),
    ("/review/bulk/", {"ids": ["{flag}"], "action": "resolve"}, "maria"),
    ("/identities/{identity}/map/", {"person": "otto@example.com", "action": "map"}, "ada"),
    ("/settings/", {"privacy": "hidden", "digest": "none"}, "erin"),
    ("/people/{left}/erase/", {"confirm": "on"}, "ada"),
    ("/budgets/exemptions/{exemption}/end/", {}, "ada"),
    ("/me/ccusage/", {}, "erin"),
]


@pytest.mark.parametrize(("path", "data", "who"), FORGED, ids=[p for p, _, _ in FORGED])
def test_a_forged_post_without_the_csrf_token_is_refused_and_changes_nothing(world, sent_tasks, path, data, who):
    client = Client(enforce_csrf_checks=True)
    client.force_login(getattr(world.cast, who))
    values = {"flag": world.flag.pk, "identity": world.identity.pk, "left": world.left.pk,
              "exemption": world.exemption.pk}
    data = {k: [v.format(**values) for v in value] if isinstance(value, list) else value for k, value in data.items()}
    before = snapshot(sent_tasks)
    response = client.post(path.format(**values), data, HTTP_ORIGIN="https://evil.example")
    assert response.status_code == 403
    assert snapshot(sent_tasks) == before


# --- Guessed ids --------------------------------------------------------------------------------------


def test_guessed_ids_of_flags_exports_raw_files_people_and_notes_answer_404_alike(world):
    """Otto (another team, no reports) walks ids 1..200 of everything; nothing answers but 404, with the
    same page whether the id exists or not."""
    client = Client()
    client.force_login(world.cast.otto)
    Flag.objects.filter(pk=world.flag.pk).update(person=world.cast.lee)  # a note-bearing flag, not Otto's
    assert FlagNote.objects.filter(flag=world.flag).exists()
    pages = set()
    for pk in range(1, 201):
        for pattern in ("/review/{}/", "/imports/{}/", "/imports/{}/download/", "/imports/{}/progress/",
                        "/people/{}/erase/", "/identities/{}/map/"):
            response = client.get(pattern.format(pk))
            assert response.status_code in (404, 405), pattern.format(pk)
        assert client.get(f"/people/{world.hidden.pk}/").status_code == 404
    for pk in (world.flag.pk, 999_999):
        response = client.get(f"/review/{pk}/")
        pages.add(response.content.decode().replace(f"/review/{pk}/", "PATH").split('"X-CSRFToken": "')[0])
    assert len(pages) == 1
    # Raw files are never served from MEDIA_URL: only through the admin's download view.
    assert client.get(f"/media/{world.export.file.name}").status_code == 404
    assert client.get(f"/{world.export.file.name}").status_code == 404


# --- Files --------------------------------------------------------------------------------------------


def test_a_zip_bomb_is_refused_kept_and_applies_nothing(world, settings, sent_tasks):
    settings.IMPORT_MAX_BYTES = 1_000_000
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("usage.csv", HEADER + ROW * 400_000)  # 28 MB from a few hundred kilobytes
    usage_before = DailyUsage.objects.count()
    export = upload_as_admin(world, "bomb.zip", buffer.getvalue(), sent_tasks)
    assert export.status == UsageExport.Status.FAILED and "expands to more than" in export.failure
    assert DailyUsage.objects.count() == usage_before
    assert Path(export.file.path).exists()  # kept, for an admin to look at


def test_a_gzip_bomb_is_refused_and_applies_nothing(world, settings, sent_tasks):
    settings.IMPORT_MAX_BYTES = 1_000_000
    usage_before = DailyUsage.objects.count()
    export = upload_as_admin(world, "bomb.csv.gz", gzip.compress(HEADER + ROW * 400_000), sent_tasks)
    assert export.status == UsageExport.Status.FAILED and "expands to more than" in export.failure
    assert DailyUsage.objects.count() == usage_before


def test_a_path_traversal_zip_writes_nothing_outside_the_media_folder(world, settings, sent_tasks, tmp_path):
    target = tmp_path / "escaped.csv"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(f"../../../../../../{target}", HEADER + ROW)
        archive.writestr("../../evil.csv", HEADER + ROW)
    export = upload_as_admin(world, "traversal.zip", buffer.getvalue(), sent_tasks)
    assert export.status == UsageExport.Status.FAILED and "exactly one export file" in export.failure
    assert not target.exists() and not (tmp_path / "evil.csv").exists()
    assert Path(export.file.path).resolve().is_relative_to(Path(settings.MEDIA_ROOT).resolve())


def test_a_traversal_name_for_the_upload_itself_stays_in_the_media_folder(world, settings, sent_tasks, tmp_path):
    export = upload_as_admin(world, "../../../../../../tmp/evil-name.csv", HEADER + ROW, sent_tasks)
    assert Path(export.file.path).resolve().is_relative_to(Path(settings.MEDIA_ROOT).resolve())
    assert not Path("/tmp/evil-name.csv").exists()


def test_an_oversize_upload_is_refused_and_applies_nothing(world, settings, sent_tasks):
    settings.IMPORT_MAX_BYTES = 10_000
    usage_before = DailyUsage.objects.count()
    export = upload_as_admin(world, "big.csv", HEADER + ROW * 1000, sent_tasks)
    assert export.status == UsageExport.Status.FAILED
    assert DailyUsage.objects.count() == usage_before


def test_an_oversize_own_upload_is_refused_and_not_kept(world, settings, sent_tasks):
    settings.SELF_UPLOAD_MAX_BYTES = 1000
    client = Client()
    client.force_login(world.cast.erin)
    exports = UsageExport.objects.count()
    response = client.post("/me/ccusage/", {"file": SimpleUploadedFile("ccusage.json", b"[" + b"1," * 5000 + b"1]")},
                           follow=True)
    assert "the most your own uploads can be" in response.content.decode()
    assert UsageExport.objects.count() == exports


# --- Passwords ----------------------------------------------------------------------------------------


def test_thirty_wrong_passwords_are_all_refused_and_then_so_is_the_right_one(world, sent_tasks):
    client = Client()
    before = snapshot(sent_tasks)
    codes = [client.post("/login/", {"username": "erin@example.com", "password": f"wrong-{n}"}).status_code
             for n in range(30)]
    assert 302 not in codes and codes[-1] == 429
    assert client.post("/login/", {"username": "erin@example.com", "password": PASSWORD}).status_code == 429
    assert "_auth_user_id" not in client.session
    assert snapshot(sent_tasks) == before  # and nothing else moved
