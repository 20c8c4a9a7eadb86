from django.shortcuts import render


class LoginRefusedMiddleware:
    """A web or admin login refused by the lockout answers 429 with Retry-After (the API says so itself)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        refusal = getattr(request, "login_refused", None)
        if refusal is None or request.path.startswith("/api/"):
            return response
        response = render(request, "registration/locked_out.html", {"refusal": refusal}, status=429)
        response["Retry-After"] = str(refusal.retry_after)
        return response
