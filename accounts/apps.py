from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "People"

    def ready(self):
        from django.contrib.auth.signals import user_logged_in

        from . import sessions

        user_logged_in.connect(sessions.on_login, dispatch_uid="accounts.sessions.on_login")
