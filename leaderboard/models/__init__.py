"""The app's models, one module per domain; imported from here (``from leaderboard.models import Flag``)."""

from .budgets import BudgetPolicy, BudgetPolicyQuerySet, OrgSettings, default_working_weekdays
from .connections import Connection, SyncRun
from .costs import ProviderCost
from .flags import (
    SEVERITY_RANK,
    Exemption,
    Flag,
    FlagEvaluation,
    FlagEvent,
    FlagNote,
    FlagQuerySet,
    FlagRule,
    Severity,
)
from .notifications import Notification
from .operations import TaskRun
from .telemetry import IngestToken, IngestTokenQuerySet, TelemetryPoint
from .usage import (
    OUTPUT_SOURCES,
    SOURCE_RANK,
    SOURCE_TRUST,
    TRUST_ORDER,
    ActivityRecord,
    DailyOutput,
    DailyUsage,
    DailyUsageQuerySet,
    PersonDay,
    Source,
    TokenCounts,
    Trust,
    UsageExport,
    UsageRecord,
    trust_of,
)
from .versions import CacheVersion

__all__ = [
    "SEVERITY_RANK", "SOURCE_RANK", "ActivityRecord", "BudgetPolicy", "BudgetPolicyQuerySet", "CacheVersion", "DailyUsage",
    "DailyUsageQuerySet", "Exemption", "Flag", "FlagEvaluation", "FlagEvent", "FlagNote", "FlagQuerySet", "FlagRule",
    "IngestToken", "IngestTokenQuerySet", "Notification", "OrgSettings", "PersonDay", "Severity", "Source", "TaskRun",
    "TelemetryPoint", "TokenCounts", "UsageExport", "UsageRecord",
    "default_working_weekdays",
    "Connection", "SyncRun", "ProviderCost",
    "DailyOutput", "OUTPUT_SOURCES", "SOURCE_TRUST", "TRUST_ORDER", "Trust", "trust_of",
]
