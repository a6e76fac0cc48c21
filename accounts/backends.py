"""Password login: Django's own, switched off by ``PASSWORD_LOGIN=false`` where single sign-on is
the only way in (the login, reset and change pages then refuse too; accounts/views.py)."""

from django.conf import settings
from django.contrib.auth.backends import ModelBackend


class PasswordBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        if not settings.PASSWORD_LOGIN:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)
