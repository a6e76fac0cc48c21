"""Where to send someone back to after a form: the page they came from, never another site."""

from django.utils.http import url_has_allowed_host_and_scheme


def back_to(request, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default
