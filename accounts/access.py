"""Who may open what: the checks views share."""

from functools import wraps

from django.http import Http404


def admin_required(view):
    """Admin pages are not advertised to anyone else: a 404, not a redirect or a 403."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_staff:
            raise Http404
        return view(request, *args, **kwargs)

    return wrapper
