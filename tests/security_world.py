"""One small company with something of every kind behind every URL, for the security tests (the
permission matrix, the headers, the hostile roster): usage, a flag on Erin with an internal note and a
reply, an imported export, an unmatched identity, a scheduled budget policy, an exemption, someone who
left, a reset link. ``names`` lets the hostile-roster tests put their strings everywhere."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth.tokens import default_token_generator
from django.core.files.base import ContentFile
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts.models import Person, ProviderIdentity
from leaderboard import flags, imports
from leaderboard.connections import setup
from leaderboard.models import BudgetPolicy, Exemption, Flag, FlagNote, UsageExport
from leaderboard.telemetry import tokens
from tests.test_boards import save, usage
from tests.test_review_views import make_flag


@dataclass
class World:
    cast: object
    flag: Flag  # about Erin: her manager Maria and admins review it, Erin answers it
    export: UsageExport
    own_upload: UsageExport
    identity: ProviderIdentity
    policy: BudgetPolicy
    exemption: Exemption
    left: Person  # terminated and deactivated: an admin may erase them
    hidden: Person  # Lee, privacy hidden: a 404 for colleagues outside his reporting line
    reset_path: str
    connection: object  # an Anthropic admin-API connection whose provider cannot be reached
    ingest_token: object  # a live telemetry ingest token


CSV = ("date,email,provider,model,input_tokens,output_tokens,cache_read_tokens,cache_write_tokens,requests,cost_usd\n"
       "{day},erin@example.com,{provider},{model},1000,200,30,4,3,0.50\n")


def build(cast, *, provider: str = "mistral", model: str = "mistral-large", note: str = "Internal: talk to Erin",
          answer: str = "I was on a project without AI") -> World:
    cast.ada.is_superuser = True
    cast.ada.save()
    cast.lee.privacy = Person.Privacy.HIDDEN
    cast.lee.save()
    save([usage(person, days, tokens=10_000 * (n + 1), output=1000, cost=f"{n + 1}.50")
          for n, person in enumerate([cast.erin, cast.maria, cast.sam, cast.lee, cast.otto]) for days in (1, 2, 3)])
    flag = make_flag(cast.erin, kind="underuse")
    FlagNote.objects.create(flag=flag, author=cast.maria, kind=FlagNote.Kind.INTERNAL, text=note)
    FlagNote.objects.create(flag=flag, author=cast.erin, kind=FlagNote.Kind.ANSWER, text=answer)
    day = (timezone.now().date() - timedelta(days=1)).isoformat()
    export, _ = imports.store_export(content=ContentFile(CSV.format(day=day, provider=provider, model=model).encode()),
                                     name="usage.csv", origin=UsageExport.Origin.UPLOAD, uploaded_by=cast.ada)
    export = imports.process_export(export.pk).export
    own, _ = imports.store_export(content=ContentFile(b'{"daily": []}'), name="ccusage.json",
                                  origin=UsageExport.Origin.SELF_SERVICE, uploaded_by=cast.erin,
                                  attributed_to=cast.erin, requested_format="ccusage")
    identity = ProviderIdentity.objects.create(vendor="openai", kind="user_id", value="user-unknown-1",
                                               label="Someone at OpenAI")
    policy = BudgetPolicy.objects.create(scope="person", person=cast.erin, kind="day", amount_usd=120,
                                         effective_from=timezone.now().date() + timedelta(days=40), note="Raise")
    exemption = flags.create_exemption(person=cast.erin, reason="Parental leave", by=cast.ada,
                                       expires_on=timezone.now().date() + timedelta(days=60))
    left = Person.objects.create_user("tess@example.com", None, name="Tess Left", team=cast.sales,
                                      status=Person.Status.TERMINATED, is_active=False)
    reset = f"/password/reset/{urlsafe_base64_encode(force_bytes(cast.erin.pk))}/" \
            f"{default_token_generator.make_token(cast.erin)}/"
    connection = setup.create_connection(vendor="anthropic", name="Anthropic (unreachable)",
                                         credential="sk-ant-admin01-secret", base_url="http://127.0.0.1:9", by=cast.ada)
    ingest_token, _ = tokens.create_token(name="Laptops", by=cast.ada)
    return World(cast, flag, export, own, identity, policy, exemption, left, cast.lee, reset, connection, ingest_token)
