from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from accounts.middleware import ProfileTimeZoneMiddleware

from . import services, tokens
from .forms import ReminderForm


@login_required
@require_POST
def reminder_settings(request):
    form = ReminderForm(request.POST)
    if form.is_valid():
        # The profile's time zone (set on the profile form); none chosen yet: the device's, which then
        # becomes the profile's, as the profile form would have preselected it.
        zone = ProfileTimeZoneMiddleware.zone_for(request)
        pref = services.set_preference(request.user, frequency=form.cleaned_data["frequency"],
                                       time_zone=zone.key if zone else None, language=get_language())
        messages.success(request, _("Reminders switched off.") if pref.next_due_at is None
                         else _("Reminders saved: %(frequency)s.") % {"frequency": pref.get_frequency_display()})
    else:
        messages.error(request, _("Those reminder settings were not valid; nothing was changed."))
    return redirect("profile")


# The encrypted token is the credential, and the only thing it can do is switch reminders off, so mail
# clients may POST it directly (RFC 8058 one-click) without a CSRF token.
@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe(request, token):
    user_id = tokens.read_token(token)
    if isinstance(user_id, tokens.TokenProblem):
        context = {user_id.value: True, "days": settings.REMINDER_UNSUBSCRIBE_LINK_DAYS}
        return render(request, "reminders/unsubscribe.html", context, status=400)
    if request.method == "POST":
        services.unsubscribe(user_id)
        return render(request, "reminders/unsubscribe.html", {"done": True})
    return render(request, "reminders/unsubscribe.html", {"token": token})
