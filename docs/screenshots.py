"""Screenshots of the pages people use every day, from the demo data, for the README.

    make screenshots        (or: .venv/bin/python docs/screenshots.py)

Loads the demo into the configured database when it has nobody yet, starts the development server on
a free port, logs in as the demo's employee and manager with Playwright driving the system Chromium,
and writes docs/screenshots/<page>-<width>.png for the board, my usage and the review queue at a
laptop's width (1366 px) and a phone's (390 px).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "screenshots"
PYTHON = sys.executable
CHROMIUM = os.environ.get("CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")
WIDTHS = (1366, 390)
# (file name, who logs in, path): the employee's board and usage, the manager's queue.
PAGES = (("board", "employee", "/"), ("my-usage", "employee", "/me/"), ("review-queue", "manager", "/review/"))


def manage(*args: str) -> str:
    done = subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, check=True, capture_output=True, text=True)
    return done.stdout


def demo_logins() -> tuple[dict[str, str], str]:
    manage("migrate", "--verbosity", "0")
    manage("demo", "--if-empty", "--no-logins")
    logins, password = {}, ""
    for line in manage("demo", "--logins").splitlines():
        words = line.split()
        if "password for all:" in line:
            password = line.split("password for all:", 1)[1].split(")", 1)[0].strip()
        elif len(words) == 2 and "@" in words[1]:
            logins[words[0]] = words[1]
    return logins, password


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_up(url: str, server: subprocess.Popen) -> None:
    for _ in range(100):
        if server.poll() is not None:
            raise SystemExit("The development server stopped; see its output above.")
        try:
            urllib.request.urlopen(f"{url}/healthz", timeout=2)
            return
        except urllib.error.HTTPError:  # a 503 (no broker) still means the server answers
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("The development server did not answer within 20 seconds.")


def shoot(url: str, logins: dict[str, str], password: str) -> list[Path]:
    from playwright.sync_api import sync_playwright

    OUT.mkdir(parents=True, exist_ok=True)
    written = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=["--no-sandbox", "--disable-gpu"])
        for role in sorted({role for _, role, _ in PAGES}):
            for width in WIDTHS:
                context = browser.new_context(viewport={"width": width, "height": 1000 if width > 500 else 844},
                                              color_scheme="light")
                page = context.new_page()
                page.goto(f"{url}/login/")
                page.get_by_label("Work email").fill(logins[role])
                page.get_by_label("Password").fill(password)
                page.get_by_role("button", name="Log in").click()
                page.wait_for_url(lambda address: "/login/" not in address)
                for name, who, path in PAGES:
                    if who != role:
                        continue
                    page.goto(f"{url}{path}")
                    page.wait_for_load_state("networkidle")
                    target = OUT / f"{name}-{width}.png"
                    page.screenshot(path=str(target))
                    written.append(target)
                context.close()
        browser.close()
    return written


def main() -> None:
    logins, password = demo_logins()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "DEBUG": os.environ.get("DEBUG", "true")}
    server = subprocess.Popen([PYTHON, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"], cwd=ROOT,
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until_up(url, server)
        for path in shoot(url, logins, password):
            print(path.relative_to(ROOT))
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
