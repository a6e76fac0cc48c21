"""The org chart walked in memory: team trees and reporting lines.

Every walk here takes a plain mapping (team -> parent team, person -> manager) that the caller read
once, so a page, a flag evaluation or a digest asks the database nothing per step, and each walk
guards against a loop an admin may have made by hand.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping


def team_and_below(team_id: int, parents: Mapping[int, int | None]) -> set[int]:
    """The team and every team below it: what "a team includes its sub-teams" means."""
    children: dict[int | None, list[int]] = defaultdict(list)
    for team, parent in parents.items():
        children[parent].append(team)
    found, frontier = {team_id}, [team_id]
    while frontier:
        frontier = [child for pk in frontier for child in children[pk] if child not in found]
        found.update(frontier)
    return found


def team_and_above(team_id: int | None, parents: Mapping[int, int | None]) -> list[int]:
    """The team and its parents, nearest first."""
    chain: list[int] = []
    while team_id is not None and team_id not in chain:
        chain.append(team_id)
        team_id = parents.get(team_id)
    return chain


def managers_above(person_id: int, managers: Mapping[int, int | None]) -> list[int]:
    """Everyone above the person in the reporting line, nearest first (not the person)."""
    above: list[int] = []
    seen = {person_id}
    boss = managers.get(person_id)
    while boss is not None and boss not in seen:
        above.append(boss)
        seen.add(boss)
        boss = managers.get(boss)
    return above


def is_above(viewer_id: int, person_id: int, managers: Mapping[int, int | None]) -> bool:
    """Whether the viewer is anywhere above the person in the reporting line."""
    return viewer_id in managers_above(person_id, managers)


def reports_of(manager_id: int, managers: Mapping[int, int | None]) -> set[int]:
    """Everyone below the manager in the reporting line, transitively (not the manager)."""
    below: dict[int, list[int]] = defaultdict(list)
    for person, boss in managers.items():
        if boss is not None:
            below[boss].append(person)
    found: set[int] = set()
    frontier = [manager_id]
    while frontier:
        frontier = [pk for boss in frontier for pk in below[boss] if pk not in found and pk != manager_id]
        found.update(frontier)
    return found


def members_of(team_ids: Iterable[int], teams: Mapping[int, int | None]) -> set[int]:
    """The people (person -> team) whose team is one of ``team_ids``."""
    wanted = set(team_ids)
    return {person for person, team in teams.items() if team in wanted}
