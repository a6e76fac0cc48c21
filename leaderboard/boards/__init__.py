"""The boards: selectors that read the daily rollups (never the usage rows) and return plain data for
pages, CSV files and commands.

- ``filters``: periods, metrics and the other filters of a board URL;
- ``catalog``: the roster as the boards see it (people, teams, who manages whom, models in use);
- ``ranking``: each person's totals over a period, ranks, the individual board, its CSV and JSON;
- ``series``: days or weeks of a period, and the rows' sparklines;
- ``teams``: the teams board, a team's trend and spend;
- ``budget_use``: budgets for a period, shares of budget used, who may see which budget;
- ``usage``: a person's own page (my usage), badges, their budget and their own rows;
- ``warming``: the common boards computed after an import.

What they compute is cached under data versions (leaderboard/cache.py); none of these modules names
a cache key or a version table.
"""
