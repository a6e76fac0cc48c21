"""Headers every page, fragment and download gets beyond Django's own security headers.

- ``Cache-Control: private, no-store``: nothing the app answers (a board with salaries' budgets, a
  manager's note, a CSV of the review queue) is kept by a shared proxy or in the browser's cache for
  the next person at the same computer. Static files are served before this (WhiteNoise) and stay
  cacheable.
- ``Permissions-Policy``: no page may ask for the camera, microphone, location and the like.

The Content-Security-Policy comes from django-csp (settings.CONTENT_SECURITY_POLICY).
"""

from django.conf import settings
from django.utils.cache import add_never_cache_headers, patch_cache_control


class PrivateResponsesMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        add_never_cache_headers(response)
        patch_cache_control(response, private=True, no_store=True)
        response.headers.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        return response
