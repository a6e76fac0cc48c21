from django.db import migrations

from accounts import audit


class Migration(migrations.Migration):
    """The database refuses to change or delete audit events (accounts/audit.py, "The database's own guard")."""

    dependencies = [("accounts", "0003_audit_and_people_never_deleted")]

    operations = [migrations.RunPython(audit.install_guard, audit.remove_guard)]
