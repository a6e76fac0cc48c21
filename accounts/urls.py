from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.urls import path

from . import sso, views

password_only = views.password_login_only

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("login/sso/", login_not_required(sso.LoginView.as_view()), name="oidc_authentication_init"),
    path("login/sso/callback/", login_not_required(sso.CallbackView.as_view()), name="oidc_authentication_callback"),
    path("login/sso/refused/", login_not_required(views.sso_refused), name="sso_refused"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password/change/", password_only(auth_views.PasswordChangeView.as_view()), name="password_change"),
    path("password/change/done/", password_only(auth_views.PasswordChangeDoneView.as_view()),
         name="password_change_done"),
    path("password/reset/", login_not_required(views.PasswordResetView.as_view()), name="password_reset"),
    path(
        "password/reset/sent/",
        login_not_required(auth_views.PasswordResetDoneView.as_view()),
        name="password_reset_done",
    ),
    path(
        "password/reset/<uidb64>/<token>/",
        login_not_required(password_only(auth_views.PasswordResetConfirmView.as_view())),
        name="password_reset_confirm",
    ),
    path(
        "password/reset/done/",
        login_not_required(auth_views.PasswordResetCompleteView.as_view()),
        name="password_reset_complete",
    ),
    path("settings/", views.settings_view, name="settings"),
    path("audit/", views.audit_log, name="audit"),
]
