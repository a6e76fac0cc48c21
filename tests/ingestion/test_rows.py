"""The typed values parsers yield."""

from leaderboard.ingestion.rows import ImportRefused, Problem


def test_a_problem_carries_no_control_character_from_the_file_into_its_text():
    # Field names and paths come from the file (keys of an open map); PostgreSQL's jsonb cannot
    # store a NUL, and a newline would break the one-line summary of a failed import.
    problem = Problem("usage.json $ data[0]", "tool_actions.ed\x00it\ud800", "got 'a\nb'")
    assert problem.as_dict() == {
        "where": "usage.json $ data[0]", "field": "tool_actions.ed\\x00it\\ud800", "message": "got 'a\\nb'",
    }
    assert str(ImportRefused(problem)) == "usage.json $ data[0]: tool_actions.ed\\x00it\\ud800: got 'a\\nb'"
    assert str(problem).encode("utf-8")


def test_a_problem_keeps_its_texts_to_a_readable_length():
    # A project name or a list of tools comes from the file and can be megabytes long.
    problem = Problem("ccusage.json $ projects[" + "x" * 100_000 + "]", "", "a" * 100_000)
    assert len(problem.where) == len(problem.message) == 500 and problem.message.endswith("...")
