from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm

from .models import Person, ProviderIdentity, Team


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "parent", "member_count"]
    list_select_related = ["parent"]
    search_fields = ["name"]
    autocomplete_fields = ["parent"]

    @admin.display(description="members")
    def member_count(self, team):
        return team.members.count()


class PersonChangeForm(UserChangeForm):
    class Meta(UserChangeForm.Meta):
        model = Person
        fields = "__all__"


class PersonCreationForm(AdminUserCreationForm):
    class Meta:
        model = Person
        fields = ["email", "name"]


class IdentityInline(admin.TabularInline):
    model = ProviderIdentity
    fk_name = "person"
    fields = ["vendor", "kind", "value", "label", "mapped_by", "mapped_at"]
    readonly_fields = ["mapped_by", "mapped_at"]
    extra = 0


@admin.register(Person)
class PersonAdmin(UserAdmin):
    form = PersonChangeForm
    add_form = PersonCreationForm
    ordering = ["name", "email"]
    list_display = ["name", "email", "team", "manager", "title", "status", "privacy", "is_staff"]
    list_filter = ["status", "privacy", "is_staff", "team"]
    list_select_related = ["team", "manager"]
    search_fields = ["name", "email", "github_login", "title"]
    autocomplete_fields = ["team", "manager"]
    inlines = [IdentityInline]
    fieldsets = [
        (None, {"fields": ["email", "name", "password"]}),
        ("Work", {"fields": ["team", "manager", "title", "start_date", "status", "work_percent",
                             "annual_base_salary", "github_login"]}),
        ("Preferences", {"fields": ["privacy", "digest"]}),
        ("Access", {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]}),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "name", "password1", "password2"]})]


@admin.register(ProviderIdentity)
class ProviderIdentityAdmin(admin.ModelAdmin):
    list_display = ["vendor", "kind", "value", "label", "person", "is_service_account", "mapped_by", "mapped_at"]
    list_filter = ["vendor", "kind", "is_service_account", ("person", admin.EmptyFieldListFilter)]
    list_select_related = ["person", "mapped_by"]
    search_fields = ["value", "label", "person__name", "person__email"]
    autocomplete_fields = ["person", "linked_to"]
    readonly_fields = ["mapped_by", "mapped_at", "created_at"]
