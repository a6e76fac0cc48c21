"""Logging in: failed attempts locked out per account and per address (django-axes, in the database),
password resets within limits and usable once, the session rotated at login and ended when idle or
too old."""

from __future__ import annotations

import re
import time

import pytest
from axes.models import AccessAttempt
from django.core import mail

from accounts import sessions
from accounts.models import Person
from tests.conftest import PASSWORD


def attempt(client, email, password, address="198.51.100.7"):
    return client.post("/login/", {"username": email, "password": password}, REMOTE_ADDR=address)


def logged_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_thirty_wrong_passwords_lock_the_account_and_then_even_the_right_one_is_refused(client, cast, settings):
    answers = [attempt(client, "erin@example.com", f"guess-{n}").status_code for n in range(30)]

    limit = settings.AXES_FAILURE_LIMIT
    assert answers[:limit - 1] == [200] * (limit - 1)  # the form again, "wrong email or password"
    assert set(answers[limit:]) == {429}
    locked = attempt(client, "erin@example.com", PASSWORD)
    assert locked.status_code == 429 and not logged_in(client)
    page = locked.content.decode()
    assert "Too many failed logins" in page and "Try again after" in page and "UTC" in page
    assert int(locked["Retry-After"]) > 0


def test_the_lock_is_per_account_whatever_the_address_or_the_case(client, cast, settings):
    for n in range(settings.AXES_FAILURE_LIMIT):
        attempt(client, "ERIN@example.com" if n % 2 else "erin@example.com", "wrong", address=f"203.0.113.{n}")
    assert attempt(client, "Erin@Example.com", PASSWORD, address="192.0.2.200").status_code == 429
    # Someone else's account is not locked.
    assert attempt(client, "otto@example.com", PASSWORD, address="192.0.2.200").status_code == 302


def test_the_lock_is_per_address_whatever_the_account(client, cast, settings):
    for n in range(settings.AXES_FAILURE_LIMIT):
        attempt(client, f"nobody{n}@example.com", "wrong", address="198.51.100.9")
    assert attempt(client, "otto@example.com", PASSWORD, address="198.51.100.9").status_code == 429
    assert attempt(client, "otto@example.com", PASSWORD, address="198.51.100.10").status_code == 302


def test_the_lock_lifts_after_the_cool_off(client, cast, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        attempt(client, "erin@example.com", "wrong")
    assert attempt(client, "erin@example.com", PASSWORD).status_code == 429
    AccessAttempt.objects.update(attempt_time=AccessAttempt.objects.get().attempt_time - settings.AXES_COOLOFF_TIME * 2)
    assert attempt(client, "erin@example.com", PASSWORD).status_code == 302


def test_a_forwarded_for_header_does_not_buy_new_tries(client, cast, settings):
    for n in range(settings.AXES_FAILURE_LIMIT):
        client.post("/login/", {"username": f"x{n}@example.com", "password": "wrong"}, REMOTE_ADDR="198.51.100.20",
                    HTTP_X_FORWARDED_FOR=f"10.0.0.{n}")
    assert client.post("/login/", {"username": "otto@example.com", "password": PASSWORD}, REMOTE_ADDR="198.51.100.20",
                       HTTP_X_FORWARDED_FOR="10.9.9.9").status_code == 429


def test_the_password_never_reaches_the_logs(client, cast, caplog):
    with caplog.at_level("DEBUG"):
        attempt(client, "erin@example.com", "hunter2-very-secret")
    assert "hunter2-very-secret" not in caplog.text
    assert "hunter2-very-secret" not in AccessAttempt.objects.get().post_data


def test_the_session_key_is_rotated_at_login(client, cast):
    client.get("/login/")
    client.post("/password/reset/", {"email": "nobody@example.com"})  # makes an anonymous session
    before = client.session.session_key
    assert before
    attempt(client, "erin@example.com", PASSWORD)
    assert logged_in(client) and client.session.session_key != before


# --- Password resets -----------------------------------------------------------------------------


def test_ten_reset_requests_for_one_account_send_at_most_the_limit_of_emails(client, cast, settings):
    settings.PASSWORD_RESET_PER_ADDRESS = 100
    answers = [client.post("/password/reset/", {"email": "erin@example.com"}, REMOTE_ADDR=f"192.0.2.{n}")
               for n in range(10)]
    # Every request gets the same answer (nothing tells whether the address is on the roster)...
    assert {r.status_code for r in answers} == {302}
    # ...and only the first few send an email.
    assert len(mail.outbox) == settings.PASSWORD_RESET_PER_ACCOUNT


def test_reset_requests_from_one_address_are_limited_with_a_page_saying_until_when(client, cast, settings):
    answers = [client.post("/password/reset/", {"email": f"someone{n}@example.com"}, REMOTE_ADDR="198.51.100.30")
               for n in range(10)]
    codes = [r.status_code for r in answers]
    assert codes[:settings.PASSWORD_RESET_PER_ADDRESS] == [302] * settings.PASSWORD_RESET_PER_ADDRESS
    assert set(codes[settings.PASSWORD_RESET_PER_ADDRESS:]) == {429}
    assert "You can ask again after" in answers[-1].content.decode()
    assert client.post("/password/reset/", {"email": "erin@example.com"}, REMOTE_ADDR="198.51.100.31").status_code == 302


def _reset_link() -> str:
    return re.search(r"http://testserver(/password/reset/[^/]+/[^/\s]+/)", mail.outbox[-1].body).group(1)


def test_a_reset_link_works_once(client, cast):
    client.post("/password/reset/", {"email": "erin@example.com"})
    link = _reset_link()
    form = client.get(link, follow=True)
    set_password = form.redirect_chain[-1][0]
    done = client.post(set_password, {"new_password1": "a brand new passphrase", "new_password2": "a brand new passphrase"})
    assert done.status_code == 302 and done.url == "/password/reset/done/"

    again = client.get(link, follow=True)
    assert "expired or was already used" in again.content.decode()
    assert client.post(set_password, {"new_password1": "yet another passphrase",
                                      "new_password2": "yet another passphrase"}).status_code == 200
    cast.erin.refresh_from_db()
    assert cast.erin.check_password("a brand new passphrase")


def test_a_reset_link_dies_when_the_person_logs_in(client, cast):
    client.post("/password/reset/", {"email": "erin@example.com"})
    link = _reset_link()
    attempt(client, "erin@example.com", PASSWORD)  # last_login moves: the token no longer matches
    client.post("/logout/")
    assert "expired or was already used" in client.get(link, follow=True).content.decode()


# --- Session limits ------------------------------------------------------------------------------


def test_a_session_ends_after_the_idle_timeout(client, cast, settings):
    attempt(client, "erin@example.com", PASSWORD)
    assert client.get("/me/").status_code == 200
    session = client.session
    session[sessions.SEEN] = int(time.time()) - settings.SESSION_IDLE_SECONDS - 5
    session.save()
    response = client.get("/me/")
    assert response.status_code == 302 and response.url.startswith("/login/")
    assert not logged_in(client)


def test_a_session_ends_after_its_maximum_age_however_busy(client, cast, settings):
    attempt(client, "erin@example.com", PASSWORD)
    session = client.session
    session[sessions.STARTED] = int(time.time()) - settings.SESSION_MAX_AGE_SECONDS - 5
    session[sessions.SEEN] = int(time.time())
    session.save()
    assert client.get("/me/").status_code == 302 and not logged_in(client)


def test_an_active_session_goes_on_and_is_written_at_most_once_a_minute(client, cast, django_assert_max_num_queries):
    attempt(client, "erin@example.com", PASSWORD)
    client.get("/me/")
    seen = client.session[sessions.SEEN]
    client.get("/me/")
    assert client.session[sessions.SEEN] == seen


@pytest.mark.parametrize("setting", ["SESSION_IDLE_SECONDS", "SESSION_MAX_AGE_SECONDS"])
def test_session_limits_are_settings(settings, setting):
    assert isinstance(getattr(settings, setting), int) and getattr(settings, setting) > 0
    assert settings.SESSION_COOKIE_AGE == settings.SESSION_MAX_AGE_SECONDS


def test_a_person_deactivated_cannot_log_in(client, cast):
    Person.objects.filter(pk=cast.erin.pk).update(is_active=False)
    assert attempt(client, "erin@example.com", PASSWORD).status_code == 200
    assert not logged_in(client)


def test_behind_our_proxy_the_address_is_the_one_it_saw_not_one_the_client_wrote(client, cast, settings):
    settings.PROXY_COUNT = 1
    for n in range(settings.AXES_FAILURE_LIMIT):
        # The client forges entries on the left; our proxy appends the address it saw: 198.51.100.50.
        client.post("/login/", {"username": f"x{n}@example.com", "password": "wrong"}, REMOTE_ADDR="10.0.0.2",
                    HTTP_X_FORWARDED_FOR=f"203.0.113.{n}, 198.51.100.50")
    assert client.post("/login/", {"username": "otto@example.com", "password": PASSWORD}, REMOTE_ADDR="10.0.0.2",
                       HTTP_X_FORWARDED_FOR="203.0.113.99, 198.51.100.50").status_code == 429
    # Someone else behind the same proxy is not locked out with them.
    assert client.post("/login/", {"username": "otto@example.com", "password": PASSWORD}, REMOTE_ADDR="10.0.0.2",
                       HTTP_X_FORWARDED_FOR="198.51.100.51").status_code == 302
