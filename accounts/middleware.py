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


class ProfileLanguageMiddleware:
    """A signed-in person's profile language wins over the browser's (Accept-Language, the language cookie).

    Runs after LocaleMiddleware and AuthenticationMiddleware. Reading the profile on each request, rather than
    copying it into a cookie at login, keeps every device and session in step when the choice changes (on
    the profile page, the language menu or another device); blank means follow the browser."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from django.db import DatabaseError
        from django.utils import translation

        user = getattr(request, "user", None)
        try:
            language = getattr(user, "language", "") if user is not None and user.is_authenticated else ""
        except DatabaseError:  # the session could not be read: the browser's language it is
            language = ""
        if language and translation.check_for_language(language):
            translation.activate(language)
            request.LANGUAGE_CODE = translation.get_language()
        return self.get_response(request)
