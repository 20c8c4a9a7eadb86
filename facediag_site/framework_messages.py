"""Django's own messages that people meet in our pages (form errors, sign-in, password rules), listed so that
``makemessages`` puts them in our catalogue: there they are translated the way the rest of the site speaks
(Spanish "tú", as in "Tu contraseña antigua no es correcta"), and our catalogue (LOCALE_PATHS) wins over
Django's, which says "usted" ("Su contraseña antigua es incorrecta. Por favor, vuelva a introducirla").

Nothing calls ``_catalogue``: its strings only need to be found. They must match Django's msgids exactly
(curly apostrophes included); tests/test_languages.py checks that each one is one of Django's.
"""

from django.utils.translation import gettext_noop, ngettext


def _catalogue() -> None:  # pragma: no cover - read by makemessages, never run
    # django.forms / django.core.validators
    gettext_noop("Enter a valid value.")
    gettext_noop("Enter a valid email address.")
    gettext_noop("Enter a number.")
    # django.contrib.auth.forms
    gettext_noop("Please enter a correct %(username)s and password. Note that both fields may be case-sensitive.")
    gettext_noop("Your old password was entered incorrectly. Please enter it again.")
    gettext_noop("The two password fields didn’t match.")
    gettext_noop("Enter the same password as before, for verification.")
    # django.contrib.auth.password_validation (AUTH_PASSWORD_VALIDATORS)
    ngettext("This password is too short. It must contain at least %d character.",
             "This password is too short. It must contain at least %d characters.", 0)
    ngettext("Your password must contain at least %(min_length)d character.",
             "Your password must contain at least %(min_length)d characters.", 0)
    gettext_noop("Your password can’t be too similar to your other personal information.")
    gettext_noop("Your password can’t be a commonly used password.")
    gettext_noop("Your password can’t be entirely numeric.")
