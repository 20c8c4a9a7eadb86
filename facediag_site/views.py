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
    container because, say, no model is active yet). ``?ready=1`` leaves out the worker: a web process
    stays in service while the workers are replaced (the readiness probes of compose and Kubernetes).
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

    from . import app_shell

    response = render(request, "sw.js", {"version": app_shell.shell_version(),
                                         "shell_json": json.dumps(app_shell.shell_urls()),
                                         "precache_json": json.dumps(app_shell.precached_urls()),
                                         "offline_page": app_shell.OFFLINE_PAGE,
                                         "cached_pages_json": json.dumps(list(app_shell.CACHED_PAGES))},
                      content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "no-cache"  # browsers check for a new version on every visit
    return response


@require_GET
def offline(request):
    """What a page that cannot load says while offline (kept by the service worker)."""
    from django.shortcuts import render

    response = render(request, "offline.html")
    response["Cache-Control"] = "no-cache"
    return response
