from django.conf import settings
from django.utils.translation import gettext, gettext_noop

# The default disclaimer, marked so makemessages extracts it; a changed DISCLAIMER setting shows as written.
gettext_noop(
    "FaceDiag is a screening aid, not a diagnosis. It cannot rule a condition in or out. "
    "See a doctor or dermatologist if your skin is painful, spreading, bleeding, infected, "
    "near the eyes, or worrying you, whatever this result says."
)


def disclaimer(request):
    return {"DISCLAIMER": gettext(settings.DISCLAIMER), "SITE_NAME": settings.SITE_NAME}
