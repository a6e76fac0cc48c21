"""Calling a provider: one ``httpx`` client per run, and what every call does the same way.

- every call has a timeout (connect and read, from settings);
- a 429 waits what ``Retry-After`` says (seconds or an HTTP date), within a bound, then tries again;
- a 5xx, a timeout or a dropped connection is tried again with exponential backoff, a bounded number
  of times;
- a 401 or 403 stops at once (``CredentialRefused``): a wrong key asked again is still wrong, and a
  storm of refused calls can get a key locked;
- pagination is followed to the end with the same parameters, only the cursor changing.

No message raised from here carries the credential: it travels in headers only, and what a provider
says back is scrubbed of anything that looks like a key before it is quoted.
"""

from __future__ import annotations

import email.utils
import json
import logging
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
from django.conf import settings

log = logging.getLogger(__name__)

# A paginated answer longer than this is a provider (or a proxy) looping, not a report.
MAX_PAGES = 5000
MAX_MESSAGE = 300
# Provider keys by their look: known prefixes, and anything redacted with asterisks ("sk-ab***yz").
_KEYLIKE = re.compile(r"\b(?:sk-|key_|crsr_|ghp_|gho_|ghs_|github_pat_|apikey_)[\w.*-]*|\S*\*{3,}\S*")

Params = list[tuple[str, str]]


class ProviderError(Exception):
    """A call that did not give an answer to use; ``str()`` says why, in words for an admin."""

    retry_later = True  # the next run may well succeed


class CredentialRefused(ProviderError):
    """401 or 403: the key is wrong, revoked or lacks a scope. The connection stops until it changes."""

    retry_later = False


class NotFound(ProviderError):
    """404: a wrong organisation or enterprise, or an endpoint this account does not have."""

    retry_later = False


class Unreachable(ProviderError):
    """Timeouts, refused connections, 5xx and 429 past every retry."""


class BadAnswer(ProviderError):
    """An answer that is not what the API documents (not JSON, another status)."""


@dataclass
class Page:
    """One answer: its bytes as they came (kept as the raw export) and its parsed JSON."""

    url: str
    content: bytes
    data: object


def scrub(text: str, secret: str = "") -> str:
    """A provider's words made safe to show and keep: no credential, nothing key-like, one short line."""
    if secret:
        text = text.replace(secret, "[credential]")
    text = _KEYLIKE.sub("[redacted]", text)
    text = " ".join(text.split())
    return text[:MAX_MESSAGE] + ("..." if len(text) > MAX_MESSAGE else "")


def _provider_message(response: httpx.Response, secret: str) -> str:
    try:
        body = response.json()
    except ValueError:
        return scrub(response.text[:MAX_MESSAGE], secret)
    error = body.get("error", body) if isinstance(body, dict) else body
    if isinstance(error, dict):
        error = error.get("message") or error.get("type") or error.get("code") or ""
    return scrub(str(error or ""), secret)


def retry_after_seconds(value: str | None, *, now: float | None = None) -> float | None:
    """``Retry-After`` as seconds: a number of seconds, or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - (now if now is not None else datetime.now(UTC).timestamp()))


class Client:
    """Calls to one provider account. ``on_call`` is told after every request (the run counts them and
    renews its lease); ``sleep`` is what waits (tests make it quick only through settings)."""

    def __init__(self, *, base_url: str, headers: dict[str, str] | None = None, auth=None, secret: str = "",
                 on_call: Callable[[], None] | None = None, retries: int | None = None,
                 sleep: Callable[[float], None] | None = None):
        self.secret = secret
        self.retries = settings.CONNECTION_RETRIES if retries is None else retries
        self.on_call = on_call or (lambda: None)
        self.sleep = sleep or time.sleep
        self.requests = 0
        self.pages = 0
        timeout = httpx.Timeout(settings.CONNECTION_READ_TIMEOUT, connect=settings.CONNECTION_CONNECT_TIMEOUT)
        self._http = httpx.Client(
            base_url=base_url.rstrip("/") + "/", headers=headers or {}, auth=auth, timeout=timeout,
            follow_redirects=False,
        )
        # Signed download links point at another host: they get no credential at all.
        self._plain = httpx.Client(timeout=timeout, follow_redirects=True)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()
        self._plain.close()

    # --- one call ------------------------------------------------------------------------------

    def request(self, method: str, path: str, *, params: Params | None = None, json_body: dict | None = None,
                allow: tuple[int, ...] = ()) -> httpx.Response:
        """One call, retried as the module says; the answer, or a ProviderError. Statuses in ``allow``
        are answers too (a report not there yet)."""
        return self._call(self._http, method, path.lstrip("/"), params=params, json_body=json_body, allow=allow)

    def download(self, url: str) -> bytes:
        """A signed link's content, fetched without the credential."""
        return self._call(self._plain, "GET", url, params=None, json_body=None, allow=()).content

    def _call(self, http: httpx.Client, method: str, url: str, *, params, json_body, allow) -> httpx.Response:
        failures = rate_limited = 0
        while True:
            self.requests += 1
            try:
                response = http.request(method, url, params=params, json=json_body)
            except httpx.TimeoutException:
                failure = f"no answer within {settings.CONNECTION_READ_TIMEOUT:g} s"
            except httpx.TransportError as error:
                failure = f"could not connect ({type(error).__name__})"
            else:
                failure = None
            finally:
                self.on_call()
            where = f"{method} {self._shown(http, url)}"
            if failure is None:
                status = response.status_code
                if status < 300 or status in allow:
                    return response
                if status in (401, 403):
                    raise CredentialRefused(self._refusal(status, response, where))
                if status == 404:
                    raise NotFound(f"{where}: not found (404): {_provider_message(response, self.secret)}")
                if status == 429:
                    rate_limited += 1
                    wait = retry_after_seconds(response.headers.get("Retry-After"))
                    wait = settings.CONNECTION_BACKOFF_SECONDS * 2 ** (rate_limited - 1) if wait is None else wait
                    if rate_limited > settings.CONNECTION_RATE_LIMIT_RETRIES or wait > settings.CONNECTION_MAX_RETRY_AFTER:
                        raise Unreachable(f"{where}: rate limited (429); asked to wait {wait:.0f} s, the next run "
                                          "carries on")
                    log.info("%s: rate limited, waiting %.1f s as Retry-After says", where, wait)
                    self.sleep(wait)
                    continue
                if status < 500:
                    raise BadAnswer(f"{where}: refused ({status}): {_provider_message(response, self.secret)}")
                failure = f"server error ({status})"
            failures += 1
            if failures > self.retries:
                raise Unreachable(f"{where}: {failure}, {failures} times; the next run tries again")
            wait = min(60.0, settings.CONNECTION_BACKOFF_SECONDS * 2 ** (failures - 1))
            log.info("%s: %s; trying again in %.1f s", where, failure, wait)
            self.sleep(wait)

    def _shown(self, http: httpx.Client, url: str) -> str:
        # Signed links carry their signature in the query: show the path only.
        return str(http.base_url.join(url).copy_with(query=None)) if http is self._http else url.split("?", 1)[0]

    def _refusal(self, status: int, response: httpx.Response, where: str) -> str:
        said = _provider_message(response, self.secret)
        if status == 401:
            reason = "the provider refused the credential (401): a wrong, expired or revoked key"
        else:
            reason = "the credential is not allowed to do this (403): a missing scope or role, or the wrong organisation"
        return f"{where}: {reason}" + (f". The provider said: {said}" if said else "")

    # --- JSON and pages ------------------------------------------------------------------------

    def get_json(self, path: str, *, params: Params | None = None, method: str = "GET",
                 json_body: dict | None = None) -> Page:
        response = self.request(method, path, params=params, json_body=json_body)
        return self._page(response)

    def _page(self, response: httpx.Response) -> Page:
        try:
            data = json.loads(response.content)
        except ValueError:
            raise BadAnswer(f"{response.request.method} {response.request.url.copy_with(query=None)}: the answer "
                            "is not JSON") from None
        self.pages += 1
        return Page(url=str(response.request.url), content=response.content, data=data)

    def paginate(self, path: str, *, params: Params | None = None, method: str = "GET", json_body: dict | None = None,
                 next_page: Callable[[object], dict | None]) -> Iterator[Page]:
        """Every page of a listing. ``next_page`` reads a page and gives the cursor for the next one
        ({"page": "..."}), or None at the end; every other parameter stays exactly as it was."""
        cursor: dict = {}
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            if method == "GET":
                page = self.get_json(path, params=[*(params or []), *cursor.items()])
            else:
                page = self.get_json(path, method=method, json_body={**(json_body or {}), **cursor})
            yield page
            cursor = next_page(page.data) or {}
            if not cursor:
                return
            marker = json.dumps(cursor, sort_keys=True, default=str)
            if marker in seen:
                raise BadAnswer(f"{method} {path}: the provider gave the same page cursor twice")
            seen.add(marker)
        raise BadAnswer(f"{method} {path}: more than {MAX_PAGES} pages")
