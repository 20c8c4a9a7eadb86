from django.http import JsonResponse
from django.views.decorators.cache import never_cache

from . import health


@never_cache
def healthz(request):
    """Database, cache, broker and the active model: 200 when all are usable, else 503 naming what is down.

    ``?live=1`` checks only that the process answers (a liveness probe that must not restart a web
    container because, say, no model is active yet).
    """
    if request.GET.get("live"):
        return JsonResponse({"status": "ok"})
    results = health.run_checks()
    down = {name: problem for name, problem in results.items() if problem}
    checks = {name: problem or "ok" for name, problem in results.items()}
    body: dict[str, object] = {"status": "down" if down else "ok", "checks": checks}
    if down:
        body["down"] = sorted(down)
    return JsonResponse(body, status=503 if down else 200)
