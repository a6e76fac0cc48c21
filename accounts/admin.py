from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.core.exceptions import PermissionDenied

from . import audit, people
from .models import AuditEvent, Person, ProviderIdentity, Team


def _team_dependents(team: Team) -> list[str]:
    """Why a team may not be deleted: its people (they would lose their team, and past boards with
    it), sub-teams, and the rows scoped to it (a budget policy would go with it, a flag rule would
    quietly apply to everyone)."""
    found = []
    members = team.members.count()
    if members:
        found.append(f"{members} {'person' if members == 1 else 'people'}")
    children = team.children.count()
    if children:
        found.append(f"{children} sub-team{'s' if children != 1 else ''}")
    found += [f"{count} {label}" for label, count in team.attachments()]
    return found


def _plain(value):
    """A form value as the audit trail keeps it: rows as their id and name, sets as sorted lists."""
    if hasattr(value, "_meta"):
        return {"id": value.pk, "name": str(value)}
    if hasattr(value, "__iter__") and not isinstance(value, str | bytes | dict):
        return sorted((_plain(item) for item in value), key=str)
    return value


def changes(form, fields=None) -> tuple[dict, dict]:
    """What a ModelForm changed, (before, after), limited to ``fields``; passwords never appear."""
    names = [name for name in form.changed_data if (fields is None or name in fields) and "password" not in name]
    before = {name: _plain(form.initial.get(name)) for name in names}
    after = {name: _plain(form.cleaned_data.get(name)) for name in names}
    return before, after


class AuditedAdmin(admin.ModelAdmin):
    """A model admins may edit in the Django admin: every addition, change and deletion goes to the
    audit trail ("team.admin_change", ...) with the fields before and after and the address."""

    def _record(self, request, verb, obj, before=None, after=None):
        audit.record(actor=request.user, action=f"{obj._meta.model_name}.admin_{verb}", target=obj,
                     before=before, after=after, address=audit.client_address(request))

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        before, after = changes(form)
        if not change:
            self._record(request, "add", obj, None, after)
        elif after:
            self._record(request, "change", obj, before, after)

    def delete_model(self, request, obj):
        self._record(request, "delete", obj, {"label": str(obj)}, None)
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)


@admin.register(Team)
class TeamAdmin(AuditedAdmin):
    list_display = ["name", "parent", "member_count"]
    list_select_related = ["parent"]
    search_fields = ["name"]
    autocomplete_fields = ["parent"]

    @admin.display(description="members")
    def member_count(self, team):
        return team.members.count()

    def has_delete_permission(self, request, obj=None):
        if obj is not None and _team_dependents(obj):
            return False
        return super().has_delete_permission(request, obj)

    def get_deleted_objects(self, objs, request):
        # "Delete selected" asks this before it deletes: a team with people or policies is listed as
        # protected, which refuses the whole deletion and says why.
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        refused = [f"Team {team.name}: {', '.join(reasons)}; move them first"
                   for team in objs if (reasons := _team_dependents(team))]
        if refused and super().has_delete_permission(request):
            # The admin may delete teams: what stops these is what is in them, so say that instead.
            perms_needed = perms_needed - {str(Team._meta.verbose_name)}
        return deleted, counts, perms_needed, [*protected, *refused]

    def delete_model(self, request, obj):
        if _team_dependents(obj):
            raise PermissionDenied(f"Team {obj.name} still has people or rows scoped to it.")
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for team in queryset:
            self.delete_model(request, team)


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
    actions = ["deactivate_selected"]
    fieldsets = [
        (None, {"fields": ["email", "name", "password"]}),
        ("Work", {"fields": ["team", "manager", "title", "start_date", "status", "work_percent",
                             "annual_base_salary", "github_login"]}),
        ("Preferences", {"fields": ["privacy", "digest"]}),
        ("Access", {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]}),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "name", "password1", "password2"]})]

    def has_delete_permission(self, request, obj=None):
        # People are deactivated, never deleted: a deletion would cascade away their history.
        return False

    @admin.action(description="Deactivate selected people", permissions=["change"])
    def deactivate_selected(self, request, queryset):
        changed = people.deactivate(people=queryset, by=request.user, address=audit.client_address(request))
        self.message_user(request, f"Deactivated {len(changed)} {'person' if len(changed) == 1 else 'people'}; "
                                   "their history stays.", messages.SUCCESS)

    ROLE_FIELDS = ("is_staff", "is_superuser", "groups", "user_permissions")
    SETTINGS_FIELDS = ("privacy", "digest")

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        address = audit.client_address(request)
        was = {"status": form.initial.get("status"), "is_active": form.initial.get("is_active")}
        now_out = obj.status == Person.Status.TERMINATED or not obj.is_active
        was_out = was["status"] == Person.Status.TERMINATED or was["is_active"] is False
        if change and now_out and not was_out:
            audit.record(actor=request.user, action="person.deactivate", target=obj, before=was,
                         after={"status": obj.status, "is_active": obj.is_active}, address=address)
        if not change:
            audit.record(actor=request.user, action="person.admin_add", target=obj,
                         after={"email": obj.email, "name": obj.name}, address=address)
            return
        # Roles (is_staff, is_superuser) here; groups and permissions once saved (save_related).
        for action, fields in (("person.roles", ("is_staff", "is_superuser")), ("person.settings", self.SETTINGS_FIELDS),
                               ("person.admin_change", None)):
            if fields is None:
                fields = [name for name in form.changed_data if name not in (*self.ROLE_FIELDS, *self.SETTINGS_FIELDS)]
            before, after = changes(form, fields)
            if after:
                audit.record(actor=request.user, action=action, target=obj, before=before, after=after, address=address)

    def user_change_password(self, request, id, form_url=""):
        response = super().user_change_password(request, id, form_url)
        if request.method == "POST" and response.status_code == 302:  # set (a form with errors answers 200)
            person = Person.objects.get(pk=id)
            audit.record(actor=request.user, action="person.password_set", target=person,
                         address=audit.client_address(request))
        return response

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        before, after = changes(form, ("groups", "user_permissions"))
        if change and after:
            audit.record(actor=request.user, action="person.roles", target=form.instance, before=before, after=after,
                         address=audit.client_address(request))


@admin.register(ProviderIdentity)
class ProviderIdentityAdmin(AuditedAdmin):
    list_display = ["vendor", "kind", "value", "label", "person", "is_service_account", "mapped_by", "mapped_at"]
    list_filter = ["vendor", "kind", "is_service_account", ("person", admin.EmptyFieldListFilter)]
    list_select_related = ["person", "mapped_by"]
    search_fields = ["value", "label", "person__name", "person__email"]
    autocomplete_fields = ["person", "linked_to"]
    readonly_fields = ["mapped_by", "mapped_at", "created_at"]


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """The audit trail, to read: nobody adds, edits or deletes an event, admins included."""

    list_display = ["at", "actor", "action", "target_type", "target_label", "address"]
    list_filter = ["action", "target_type", ("actor", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["actor"]
    search_fields = ["target_label", "target_id", "actor__email", "actor__name", "action"]
    date_hierarchy = "at"
    fields = ["at", "actor", "action", "target_type", "target_id", "target_label", "before", "after", "address"]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
