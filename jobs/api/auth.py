"""Bearer-token authentication for the API: 401 without a valid token, 403 without the permission."""
from __future__ import annotations

import functools

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt

from jobs.api.serializers import ApiError
from jobs.api_tokens import ApiToken

VIEW_PERMISSION = "jobs.view_run"


def error_response(error: ApiError) -> JsonResponse:
    response = JsonResponse(error.as_dict(), status=error.status)
    if error.status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="hockeyops"'
    return response


def bearer_token(request) -> str:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, raw = header.partition(" ")
    return raw.strip() if scheme.lower() == "bearer" else ""


def api_view(methods: tuple[str, ...], auth: bool = True):
    """Wrap a view: method check (405), CSRF exemption, bearer auth (401) and the admin's view permission (403);
    an ``ApiError`` raised by the view becomes its JSON error response."""
    def decorate(view):
        @csrf_exempt
        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            try:
                if request.method not in methods:
                    response = JsonResponse({"error": f"Method {request.method} not allowed.", "field": ""},
                                            status=405)
                    response["Allow"] = ", ".join(methods)
                    return response
                if auth:
                    token = ApiToken.authenticate(bearer_token(request))
                    if token is None:
                        raise ApiError("Send a valid API token as 'Authorization: Bearer <token>'.", status=401)
                    request.user = token.user
                    request.api_token = token
                    require(request.user, [VIEW_PERMISSION])
                return view(request, *args, **kwargs)
            except ApiError as exc:
                return error_response(exc)
        return wrapper
    return decorate


def require(user, perms: list[str]) -> None:
    """403 naming the missing permission unless ``user`` has all of ``perms``."""
    missing = [p for p in perms if not user.has_perm(p)]
    if missing:
        raise ApiError(f"Your token's user lacks the permission {', '.join(missing)}.", status=403)
