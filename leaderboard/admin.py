from django.contrib import admin

from accounts.admin import AuditedAdmin

from . import models


@admin.register(models.UsageExport)
class UsageExportAdmin(admin.ModelAdmin):
    list_display = ["pk", "original_name", "format", "status", "rows_read", "records_written", "people_matched",
                    "identities_unmatched", "first_day", "last_day", "uploaded_by", "created_at"]
    list_filter = ["status", "format", "origin"]
    list_select_related = ["uploaded_by"]
    search_fields = ["original_name", "sha256"]
    date_hierarchy = "created_at"
    # The import pipeline owns these rows; editing them by hand would break its bookkeeping.
    readonly_fields = [f.name for f in models.UsageExport._meta.fields]


class ReadOnlyUsageAdmin(admin.ModelAdmin):
    """Rows that only the app's own workflows write (usage by imports and rollups): browsable and
    searchable, never edited here."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(models.UsageRecord)
class UsageRecordAdmin(ReadOnlyUsageAdmin):
    list_display = ["day", "vendor", "source", "identity", "model", "input_tokens", "cache_write_tokens",
                    "cache_read_tokens", "output_tokens", "requests", "cost_usd", "cost_reported"]
    list_filter = ["vendor", "source", "cost_reported"]
    list_select_related = ["identity"]
    search_fields = ["identity__value", "identity__label", "model"]
    date_hierarchy = "day"


@admin.register(models.ActivityRecord)
class ActivityRecordAdmin(ReadOnlyUsageAdmin):
    list_display = ["day", "vendor", "source", "identity", "active", "sessions", "requests", "lines_added",
                    "commits", "pull_requests"]
    list_filter = ["vendor", "source", "active"]
    list_select_related = ["identity"]
    search_fields = ["identity__value", "identity__label"]
    date_hierarchy = "day"


@admin.register(models.DailyUsage)
class DailyUsageAdmin(ReadOnlyUsageAdmin):
    list_display = ["day", "person", "vendor", "model", "source", "total_tokens", "requests", "cost_usd",
                    "unpriced_records"]
    list_filter = ["vendor", "source"]
    list_select_related = ["person"]
    search_fields = ["person__name", "person__email", "model"]
    date_hierarchy = "day"


@admin.register(models.PersonDay)
class PersonDayAdmin(ReadOnlyUsageAdmin):
    list_display = ["day", "person", "total_tokens", "output_tokens", "requests", "cost_usd", "active"]
    list_filter = ["active"]
    list_select_related = ["person"]
    search_fields = ["person__name", "person__email"]
    date_hierarchy = "day"


@admin.register(models.OrgSettings)
class OrgSettingsAdmin(AuditedAdmin):
    pass


@admin.register(models.BudgetPolicy)
class BudgetPolicyAdmin(ReadOnlyUsageAdmin):
    """Browsable here; written only on the Budgets page, which previews a change, asks before a
    backdate and records it in the audit trail, and never deletes a policy already in effect."""

    list_display = ["scope", "team", "person", "kind", "amount_usd", "salary_percent", "effective_from", "created_by"]
    list_filter = ["scope", "kind"]
    list_select_related = ["team", "person", "created_by"]
    search_fields = ["team__name", "person__name", "person__email", "note"]

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(models.FlagRule)
class FlagRuleAdmin(AuditedAdmin):
    list_display = ["kind", "enabled", "severity"]
    list_filter = ["enabled", "severity"]


class FlagEventInline(admin.TabularInline):
    model = models.FlagEvent
    extra = 0
    can_delete = False
    readonly_fields = [f.name for f in models.FlagEvent._meta.fields]


class FlagNoteInline(admin.TabularInline):
    model = models.FlagNote
    extra = 0


@admin.register(models.Flag)
class FlagAdmin(admin.ModelAdmin):
    list_display = ["pk", "rule", "person", "severity", "status", "opened_on", "updated_on"]
    list_filter = ["rule", "severity", "status"]
    list_select_related = ["rule", "person"]
    search_fields = ["person__name", "person__email", "explanation"]
    autocomplete_fields = ["person"]
    inlines = [FlagNoteInline, FlagEventInline]


@admin.register(models.Exemption)
class ExemptionAdmin(AuditedAdmin):
    list_display = ["person", "rule", "reason", "starts_on", "expires_on", "created_by"]
    list_select_related = ["person", "rule", "created_by"]
    search_fields = ["person__name", "person__email", "reason"]
    autocomplete_fields = ["person"]


@admin.register(models.FlagEvaluation)
class FlagEvaluationAdmin(admin.ModelAdmin):
    list_display = ["as_of", "trigger", "started_at", "people", "opened", "updated", "resolved"]
    list_filter = ["trigger"]
    readonly_fields = [f.name for f in models.FlagEvaluation._meta.fields]


@admin.register(models.Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["key", "kind", "channel", "recipient", "team", "status", "attempts", "sent_at"]
    list_filter = ["kind", "channel", "status"]
    list_select_related = ["recipient", "team"]
    search_fields = ["key", "recipient__email"]
    readonly_fields = [f.name for f in models.Notification._meta.fields]
