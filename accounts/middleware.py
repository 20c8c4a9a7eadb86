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


#: The device's own time zone (IANA name), written by static/js/site.js: used until the
#: person chooses one on the profile page.
DEVICE_TIME_ZONE_COOKIE = "facediag_tz"


class ProfileTimeZoneMiddleware:
    """Pages, charts and reports show times in the person's time zone: the profile's, else the device's
    (a cookie its browser sets), else settings.TIME_ZONE. Runs after AuthenticationMiddleware."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from django.utils import timezone

        zone = self.zone_for(request)
        if zone is None:
            timezone.deactivate()
        else:
            timezone.activate(zone)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()

    @staticmethod
    def zone_for(request):
        from urllib.parse import unquote
        from zoneinfo import ZoneInfo

        from django.db import DatabaseError

        from facediag_site.lib.dates import valid_time_zone

        user = getattr(request, "user", None)
        name = ""
        try:
            if user is not None and user.is_authenticated:
                name = user.time_zone  # loaded with the user: no query of its own
        except DatabaseError:  # the session could not be read: the device's zone it is
            name = ""
        if not name:
            name = unquote(request.COOKIES.get(DEVICE_TIME_ZONE_COOKIE, ""))[:64]
        return ZoneInfo(name) if name and valid_time_zone(name) else None
