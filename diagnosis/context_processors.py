from django.conf import settings
from django.utils.translation import gettext, gettext_noop

# The default disclaimers, marked so makemessages extracts them; changed settings show as written.
gettext_noop(
    "FaceDiag is a screening aid, not a diagnosis. It cannot rule a condition in or out. "
    "See a doctor or dermatologist if your skin is painful, spreading, bleeding, infected, "
    "near the eyes, or worrying you, whatever this result says."
)
gettext_noop(
    "FaceDiag is a screening aid, not a diagnosis. It cannot rule a condition in or out. "
    "See a doctor or dermatologist if your skin is painful, spreading, bleeding, infected, "
    "near the eyes, or worrying you."
)


def disclaimer(request):
    """The footer's warning: GENERAL_DISCLAIMER by default; pages that show a result use RESULT_DISCLAIMER."""
    return {"DISCLAIMER": gettext(settings.GENERAL_DISCLAIMER), "RESULT_DISCLAIMER": gettext(settings.DISCLAIMER),
            "SITE_NAME": settings.SITE_NAME}
