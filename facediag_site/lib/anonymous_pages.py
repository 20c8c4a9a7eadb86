"""Pages the service worker keeps for offline use (templates/sw.js): rendered as if nobody were signed in.

The service worker fetches them with the person's cookies (at install, while someone may be signed in) and
keeps them for whoever uses the device next, so they must hold nothing of the person: no user id, no CSRF
token, no pending messages, no name in the menu (finding M5 of issue 30).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

#: Keeps the FaceDiag-Account header off (facediag_site.middleware): a kept page speaks for no session.
STAND_IN_ATTRIBUTE = "offline_stand_in"


def render_anonymous(request: HttpRequest, template: str, context: dict[str, Any] | None = None) -> HttpResponse:
    anonymous = AnonymousUser()
    response = render(request, template, {
        **(context or {}),
        "user": anonymous,
        "perms": {},
        "messages": [],
        "csrf_token": "",  # no token kept on the device (the templates leave out {% csrf_token %} here too)
        "offline_stand_in": True,
    })
    response["Cache-Control"] = "no-cache"  # the service worker fetches a fresh copy when it updates
    setattr(response, STAND_IN_ATTRIBUTE, True)
    return response
