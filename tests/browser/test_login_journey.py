from tests.browser.conftest import browser_login


def test_it_logs_in_and_shows_the_leaderboard(page, live_server, cast):
    page.goto(f"{live_server.url}/")
    assert "/login/" in page.url  # the board needs a login

    browser_login(page, live_server, cast.erin)

    assert page.get_by_role("heading", name="Leaderboard").is_visible()
    assert page.get_by_role("navigation", name="Main").get_by_role("link", name="Leaderboard").is_visible()


def test_it_refuses_a_wrong_password(page, live_server, cast):
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Work email").fill(cast.erin.email)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Log in").click()
    assert page.get_by_role("alert").is_visible()
    assert "/login/" in page.url
