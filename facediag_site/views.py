import json

from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from . import health


@never_cache
def healthz(request):
    """Database, cache, broker, the active model and a worker's heartbeat: 200 when all are usable, else 503
    naming what is down.

    ``?live=1`` checks only that the process answers (a liveness probe that must not restart a web
    container because, say, no model is active yet). ``?ready=1`` asks only what a web process needs to serve
    (the database and a loadable model, ``health.WEB_CHECKS``): it stays in service while the workers are
    replaced or Redis blips (the readiness probes of compose and Kubernetes).
    """
    if request.GET.get("live"):
        return JsonResponse({"status": "ok"})
    ready = bool(request.GET.get("ready"))
    results = health.run_checks(health.WEB_CHECKS if ready else None, ready=ready)
    down = {name: problem for name, problem in results.items() if problem}
    checks = {name: problem or "ok" for name, problem in results.items()}
    body: dict[str, object] = {"status": "down" if down else "ok", "checks": checks}
    if down:
        body["down"] = sorted(down)
    return JsonResponse(body, status=503 if down else 200)


@require_GET
def service_worker(request):
    """The service worker, served from the site's root so it may look after every page (its scope)."""
    from django.shortcuts import render
    from django.templatetags.static import static
    from django.urls import reverse

    from . import app_shell

    response = render(request, "sw.js", {"version": app_shell.shell_version(),
                                         "store_url": static("js/offline-store.js"),
                                         "shell_json": json.dumps(app_shell.shell_urls()),
                                         "precache_json": json.dumps(app_shell.precached_urls()),
                                         "offline_page": app_shell.OFFLINE_PAGE,
                                         "offline_logout_page": app_shell.OFFLINE_LOGOUT_PAGE,
                                         "kept_pages_json": json.dumps(app_shell.OFFLINE_PAGES),
                                         "logout_url": reverse("logout"),
                                         "offline_pages_json": json.dumps(app_shell.OFFLINE_STAND_INS)},
                      content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "no-cache"  # browsers check for a new version on every visit
    return response


@require_GET
def offline(request):
    """What a page that cannot load says while offline (kept by the service worker: anonymous)."""
    from .lib.anonymous_pages import render_anonymous

    return render_anonymous(request, "offline.html")


@require_GET
def offline_logout(request):
    """What "Log out" answers while offline (the service worker, templates/sw.js, answers the logout's POST
    with it; issue 32, point 9): the logout happens once the connection returns (static/js/offline-logout.js).
    Kept by the service worker, so anonymous like the offline notice."""
    from .lib.anonymous_pages import render_anonymous

    return render_anonymous(request, "offline_logout.html")


@require_GET
def web_manifest(request):
    """The installable app's manifest in the reader's language (name, description, shortcuts), served as
    application/manifest+json: a static file was English only and went out as application/octet-stream."""
    from django.templatetags.static import static
    from django.urls import reverse
    from django.utils.translation import get_language, get_language_bidi
    from django.utils.translation import gettext as _

    def icon(name, sizes, kind, **extra):
        return {"src": static(name), "sizes": sizes, "type": kind, **extra}

    manifest = {
        "id": "/",
        "name": _("FaceDiag skin screening"),
        "short_name": "FaceDiag",
        "description": _("Track your facial skin over time. A screening aid, not a diagnosis."),
        "lang": get_language(),
        "dir": "rtl" if get_language_bidi() else "ltr",
        "start_url": reverse("diagnosis:upload"),
        "scope": "/",
        "display": "standalone",
        "orientation": "portrait",
        "background_color": "#f6f8fb",
        "theme_color": "#2a63a0",
        "categories": ["health", "medical"],
        "icons": [
            icon("img/favicon.svg", "any", "image/svg+xml"),
            icon("img/icon-192.png", "192x192", "image/png"),
            icon("img/icon-512.png", "512x512", "image/png"),
            icon("img/icon-512.png", "512x512", "image/png", purpose="maskable"),
        ],
        "shortcuts": [
            {"name": _("New scan"), "url": reverse("diagnosis:upload")},
            {"name": _("History"), "url": reverse("diagnosis:history")},
        ],
    }
    response = JsonResponse(manifest, content_type="application/manifest+json",
                            json_dumps_params={"ensure_ascii": False})
    response["Vary"] = "Accept-Language, Cookie"  # the language follows the browser or the profile
    return response
