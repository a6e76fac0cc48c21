"""The boards employees open every morning: the individual board, the teams, my usage, person pages.

Each view parses its query string with a form, calls the selectors in ``leaderboard.boards`` and
renders; what they compute is cached under the data versions the view reads first (cache.current). An htmx request (a filter changed, a page turned) gets only the part of the page that
changes, ``template.html#partial``, and the canonical URL to push; the same URL loaded without
JavaScript (or by the back button after a history cache miss) renders the whole page.
"""

import io
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_POST
from django_htmx.http import push_url

from accounts import org
from accounts.models import Person

from .. import cache, charts, freshness, imports, runway, tasks
from ..board_forms import BoardFilterForm, CcusageUploadForm, ModelSuggestionsForm, UsageForm
from ..boards import budget_use, catalog, download, output, ranking, usage
from ..boards import teams as team_boards
from ..boards.filters import utc_today
from ..cache import Versions
from ..models import UsageExport
from ..upload_limits import SizeLimit

CCUSAGE_COMMAND = "npx ccusage@latest daily --json --timezone UTC > ccusage.json"


def _partial(request) -> bool:
    """An htmx swap of part of the page; a history restore after a cache miss wants the whole page."""
    return bool(request.htmx) and not request.htmx.history_restore_request


def _url(name: str, params: dict, *args) -> str:
    return _with_query(reverse(name, args=args), params)


def _with_query(url: str, params: dict) -> str:
    return f"{url}?{urlencode(params)}" if params else url


def _render(request, template: str, partial: str, context: dict, *, canonical: str | None = None):
    response = render(request, f"{template}#{partial}" if _partial(request) else template, context)
    if _partial(request) and canonical:
        # The form sends every field, empty ones too; the address bar gets the short, shareable URL.
        push_url(response, canonical)
    return response


def _filter_form(request, catalog, fresh, today, *, budgets: bool, ratios: bool = True) -> BoardFilterForm:
    """``budgets``: whether this viewer may rank this board by share of budget (else not offered);
    ``ratios``: whether the ratio metrics are offered (not on the teams board: a team's cost per pull
    request is not the sum of its members')."""
    # The vendors anything was imported from: the same query that says how fresh each one is.
    return BoardFilterForm(request.GET, catalog=catalog, vendors=[f.vendor for f in fresh], today=today,
                           budgets=budgets, ratios=ratios)


def _pagination(board: ranking.Board, link) -> dict:
    """Page links; ``link(n)`` is the URL of page n."""
    return {
        "pages": [(n, link(n) if n else None) for n in board.page_numbers()],
        "previous": link(board.page - 1) if board.has_previous else None,
        "next": link(board.page + 1) if board.has_next else None,
    }


# --- The individual board -----------------------------------------------------------------------


def _catalog(request) -> tuple[Versions, catalog.Catalog]:
    """The data versions the page is cached under, and the roster; the header learns from the roster
    whether to show the Review link without a query of its own (leaderboard/navigation.py)."""
    versions = cache.current()
    found = catalog.load(versions)
    request.has_reports = found.has_reports(request.user.pk)
    request.data_versions = versions
    return versions, found


def board(request):
    today = utc_today()
    versions, roster = _catalog(request)
    fresh = freshness.by_vendor(versions)
    sight = budget_use.budget_sight(request.user, catalog=roster, versions=versions)
    form = _filter_form(request, roster, fresh, today, budgets=sight.any)
    filters = form.filters()
    sort = form.person_sort
    result = ranking.leaderboard(filters, viewer=request.user, catalog=roster, page=form.page_number,
                                 versions=versions, sight=sight, sort=sort, outputs=True)
    charts.draw_sparklines(result, versions)
    sorted_by = {"sort": sort} if sort != "total" else {}
    canonical = _url("board", {**filters.query_params(page=result.page), **sorted_by})
    params = filters.query_params()
    context = {
        "form": form, "filters": filters, "board": result, "freshness": fresh, "sort": sort,
        "sort_links": {key: _url("board", {**params, "sort": key} if key != "total" else params)
                       for key in ranking.PERSON_SORTS},
        "pagination": _pagination(result, lambda n: _url("board", {**filters.query_params(page=n), **sorted_by})),
        "csv_url": _url("board_csv", filters.query_params()),
        "models_url": _url("board_models", {"end": filters.period.end.isoformat()}),
        "form_url": reverse("board"),
    }
    return _render(request, "leaderboard/board.html", "board", context, canonical=canonical)


def board_models(request):
    """The model filter's suggestions, fetched when the field is first focused: a distinct over the
    rollups that the board itself need not pay for. Without JavaScript the field is plain text."""
    form = ModelSuggestionsForm(request.GET)
    end = (form.cleaned_data["end"] if form.is_valid() else None) or utc_today()
    return render(request, "leaderboard/board.html#model-options", {"models": catalog.known_models(end)})


def board_csv(request):
    """The whole board (every page) with the same filters, as the viewer sees it."""
    today = utc_today()
    versions, roster = _catalog(request)
    sight = budget_use.budget_sight(request.user, catalog=roster, versions=versions)
    form = _filter_form(request, roster, freshness.by_vendor(versions), today, budgets=sight.any)
    filters = form.filters()
    text = download.board_csv(filters, viewer=request.user, catalog=roster, sight=sight, versions=versions)
    response = HttpResponse(text, content_type="text/csv; charset=utf-8")
    name = f"leaderboard-{filters.metric.name}-{filters.period.start}-{filters.period.end}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


# --- Teams --------------------------------------------------------------------------------------


def teams(request):
    today = utc_today()
    versions, roster = _catalog(request)
    fresh = freshness.by_vendor(versions)
    sight = budget_use.budget_sight(request.user, catalog=roster, versions=versions)
    form = _filter_form(request, roster, fresh, today,
                        budgets=budget_use.may_rank_teams_by_budget(sight, catalog=roster, versions=versions),
                        ratios=False)
    filters = form.filters()
    result = team_boards.team_board(filters, catalog=roster, sort=form.sort_value, versions=versions, sight=sight)
    params = filters.query_params()
    parents = {team.parent_id for team in roster.teams.values()}
    context = {
        "form": form, "filters": filters, "board": result, "freshness": fresh,
        # A parent team's row counts its own members; its page counts its sub-teams' too: say how many.
        "with_sub_teams": {row.team_id: roster.team_size(roster.team_and_below(row.team_id))
                           for row in result.rows if row.team_id in parents},
        "sort_columns": [
            (key, label, _url("teams", {**params, "sort": key} if key != "total" else params))
            for key, label in team_boards.TEAM_SORTS.items()
        ],
        "form_url": reverse("teams"),
        "csv_url": _url("teams_csv", {**params, **({"sort": result.sort} if result.sort != "total" else {})}),
    }
    canonical = _url("teams", {**params, **({"sort": result.sort} if result.sort != "total" else {})})
    return _render(request, "leaderboard/teams.html", "teams", context, canonical=canonical)


def teams_csv(request):
    """The teams board with the same filters and sort, as the viewer sees it."""
    today = utc_today()
    versions, roster = _catalog(request)
    sight = budget_use.budget_sight(request.user, catalog=roster, versions=versions)
    form = _filter_form(request, roster, freshness.by_vendor(versions), today,
                        budgets=budget_use.may_rank_teams_by_budget(sight, catalog=roster, versions=versions))
    filters = form.filters()
    result = team_boards.team_board(filters, catalog=roster, sort=form.sort_value, versions=versions, sight=sight)
    out = io.StringIO()
    team_boards.write_team_csv(result, out)
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    name = f"teams-{filters.metric.name}-{filters.period.start}-{filters.period.end}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def team(request, pk):
    today = utc_today()
    versions, roster = _catalog(request)
    if pk not in roster.teams:
        raise Http404
    fresh = freshness.by_vendor(versions)
    team_ids = roster.team_and_below(pk)
    sight = budget_use.budget_sight(request.user, catalog=roster, versions=versions)
    form = _filter_form(request, roster, fresh, today,
                        budgets=budget_use.may_see_team_budget(sight, team_ids, catalog=roster, versions=versions))
    filters = form.filters(team_id=pk)
    # No sparklines here: the team's own chart above the table shows its days.
    result = ranking.leaderboard(
        filters, viewer=request.user, catalog=roster, page=form.page_number, sparklines=False, versions=versions,
        sight=sight, outputs=True,
    )
    info = roster.teams[pk]
    spans, stacks, spend = team_boards.team_trend(filters, team_ids, versions=versions)
    trend = charts.team_trend_chart(info.name, filters, spans, stacks)
    # The members' budgets added up, against what they spent (the trend's query summed it): None
    # unless every one of those budgets is the viewer's to see.
    budget = budget_use.team_budget(filters.period, team_ids, spend=spend, catalog=roster, versions=versions,
                                    sight=sight)
    params = {k: v for k, v in filters.query_params().items() if k != "team"}
    # Budget runway: for whoever may see the team's budgets (the organisation's, for admins).
    runways = []
    if budget is not None:
        shown = [(pk, info.name, team_ids)] + ([(None, runway.ORGANISATION, None)] if request.user.is_staff else [])
        runways = [runway.for_board(team_id=key, label=label, today=today, catalog=roster, versions=versions, members=[
            member for member, person in roster.people.items() if teams is None or person.team_id in teams])
            for key, label, teams in shown]
    context = {
        "runways": runways,
        "form": form, "filters": filters, "board": result, "freshness": fresh, "team": info, "budget": budget,
        "team_path": roster.team_path(pk), "members": roster.team_size(team_ids), "trend": trend,
        "sub_teams": sorted((t for t in roster.teams.values() if t.parent_id == pk), key=lambda t: t.name.lower()),
        "pagination": _pagination(result, lambda n: _url("team", {**params, **({"page": n} if n > 1 else {})}, pk)),
        "form_url": reverse("team", args=[pk]),
    }
    canonical = _url("team", {**params, **({"page": result.page} if result.page > 1 else {})}, pk)
    return _render(request, "leaderboard/team.html", "team", context, canonical=canonical)


# --- My usage and person pages ------------------------------------------------------------------


def _get_person_for_user(request, pk, versions: Versions) -> tuple[Person, bool]:
    """The person, and whether the viewer may see their whole page (themself, anyone above them in
    the reporting line, an admin). Anyone else sees a named colleague's board numbers only; an
    anonymous, hidden or departed colleague is a 404, for the page and every fragment of it."""
    person = get_object_or_404(Person.objects.select_related("team"), pk=pk)
    viewer = request.user
    above = person.manager_id is not None and org.is_above(viewer.pk, person.pk, catalog.reporting_line(versions))
    if viewer.pk == person.pk or viewer.is_staff or above:
        return person, True
    if person.privacy == Person.Privacy.NAMED and person.status != Person.Status.TERMINATED:
        return person, False
    raise Http404


def _usage_context(request, person: Person, *, full: bool, name: str, args=(),
                   loaded: tuple[Versions, catalog.Catalog] | None = None) -> dict:
    today = utc_today()
    versions, roster = loaded or _catalog(request)
    form = UsageForm(request.GET, today=today)
    period = form.get_period()
    overview = usage.usage_overview(person, period, by=form.by_value, today=today, detail=full, versions=versions)
    params = period.query_params()
    base = reverse(name, args=args)

    def link(by):
        return _with_query(base, {**params, **({"by": by} if by != "vendor" else {})})

    whose = "Your" if person.pk == request.user.pk else f"{person.get_full_name()}’s"
    rank_chart, daily_chart = charts.usage_charts(overview, whose=whose, full=full, versions=versions)
    return {
        "person": person, "full": full, "form": form, "overview": overview, "period": period,
        "by_links": {by: link(by) for by in ("vendor", "model")},
        "form_url": base,
        "canonical": link(overview.by),
        "rank_chart": rank_chart,
        "daily_chart": daily_chart,
        # Only the whole page shows a budget: the person, their managers, admins.
        "budget": usage.person_budget(person, overview, catalog=roster, versions=versions, today=today) if full else None,
        # What their usage produced, week by week, against their team's median: the same people.
        "output": output.output_trend(person.pk, person.team_id, period, versions=versions) if full else None,
        # A colleague sees the person's place as a band, not their figures (boards/bands.py).
        "banded": not full and roster.peer_bands,
    }


def me(request):
    loaded = _catalog(request)
    context = _usage_context(request, request.user, full=True, name="me", loaded=loaded)
    if not _partial(request):
        mine = usage.personal(request.user, loaded[0])
        context.update({
            "identities": mine.identities,
            "uploads": mine.uploads,
            "upload_form": CcusageUploadForm(),
            "ccusage_command": CCUSAGE_COMMAND,
            "freshness": freshness.by_vendor(loaded[0]),
            # Mine to read and answer (each links to its page); never anyone else's.
            "flags": mine.flags,
        })
    return _render(request, "leaderboard/me.html", "usage", context, canonical=context["canonical"])


@csrf_exempt  # checked below, once the upload's size limit is in place (it must come first)
@require_POST
def me_ccusage(request):
    """Someone uploads their own ccusage output: it is theirs, and it is imported like any export."""
    limit = SizeLimit(settings.SELF_UPLOAD_MAX_BYTES, request)
    request.upload_handlers.insert(0, limit)
    return _store_own_upload(request, limit)


@csrf_protect
def _store_own_upload(request, limit: SizeLimit):
    form = CcusageUploadForm(request.POST, request.FILES)
    if limit.refused:
        messages.error(request, f"The file is over {settings.SELF_UPLOAD_MAX_BYTES:,} bytes, the most your own "
                       "uploads can be. ccusage's daily JSON is a few kilobytes: check that this is the right file.")
        return redirect("me")
    if not form.is_valid():
        messages.error(request, "Choose the ccusage JSON file to upload.")
        return redirect("me")
    upload = form.cleaned_data["file"]
    try:
        with transaction.atomic():
            export, created = imports.store_export(
                content=upload, name=upload.name, origin=UsageExport.Origin.SELF_SERVICE, uploaded_by=request.user,
                attributed_to=request.user, requested_format="ccusage",
            )
            if created:
                tasks.queue_import(export)
    except imports.UploadRefused as refused:
        messages.error(request, f"{upload.name}: {refused}")
        return redirect("me")
    if not created:
        messages.info(request, f"{upload.name}: you uploaded this file before ({export.get_status_display().lower()}).")
    elif export.status == UsageExport.Status.FAILED:
        messages.error(request, f"{upload.name}: {export.failure}")
    else:
        messages.success(request, f"{upload.name}: queued. Your numbers update once the import has run.")
    return redirect("me")


def person(request, pk):
    loaded = _catalog(request)
    subject, full = _get_person_for_user(request, pk, loaded[0])
    context = _usage_context(request, subject, full=full, name="person", args=(subject.pk,), loaded=loaded)
    if full and not _partial(request):
        theirs = usage.personal(subject, loaded[0])
        context["identities"] = theirs.identities
        # The person's own flags, to answer; for their managers and admins, the flags they review.
        context["flags"] = theirs.flags if subject.pk == request.user.pk else [
            flag for flag in theirs.flags if flag.is_shown_to_managers(timezone.now().date())]  # employee first
    return _render(request, "leaderboard/person.html", "usage", context, canonical=context["canonical"])


urlpatterns = [
    path("", board, name="board"),
    path("board.csv", board_csv, name="board_csv"),
    path("board/models/", board_models, name="board_models"),
    path("teams/", teams, name="teams"),
    path("teams.csv", teams_csv, name="teams_csv"),
    path("teams/<int:pk>/", team, name="team"),
    path("me/", me, name="me"),
    path("me/ccusage/", me_ccusage, name="me_ccusage"),
    path("people/<int:pk>/", person, name="person"),
]
