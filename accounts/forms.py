from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm, SetPasswordForm
from django.core.exceptions import ValidationError
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from facediag_site.lib import time_zones
from facediag_site.lib.dates import valid_time_zone


class SignupForm(forms.Form):
    email = forms.EmailField(
        label=_("E-mail"), widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True})
    )
    password1 = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )
    password2 = forms.CharField(
        label=_("Password again"), strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )

    def clean(self):
        cleaned = super().clean() or {}
        p1, p2 = cleaned.get("password1"), cleaned.get("password2")
        if p1 and p2 and p1 != p2:
            self.add_error("password2", _("The two passwords differ."))
        if p1 and cleaned.get("email"):
            try:
                password_validation.validate_password(p1, get_user_model()(email=cleaned["email"]))
            except ValidationError as exc:
                self.add_error("password1", exc)
        return cleaned


class TimeZoneField(forms.ChoiceField):
    """An IANA time zone from a list grouped by region (facediag_site.lib.time_zones); any zone this machine
    knows is accepted, listed or not (an alias a device reported)."""

    def valid_value(self, value):
        return value == "" or valid_time_zone(value)


class ProfileForm(forms.Form):
    display_name = forms.CharField(label=_("Display name"), required=False, max_length=100)
    consent_training = forms.BooleanField(
        required=False,
        label=_("Let FaceDiag use my reviewed photos to improve the model"),
        help_text=_("Off by default. You can withdraw at any time; withdrawn photos leave future training exports."),
    )
    language = forms.ChoiceField(
        label=_("Language"), required=False, choices=[("", _("Follow my browser")), *settings.LANGUAGES],
        help_text=_("The language of the pages and e-mails whenever you are signed in, on any device."),
    )
    time_zone = TimeZoneField(
        label=_("My time zone"), required=False,
        help_text=_("Your pages, charts and reports show times in this time zone, and reminders arrive at 9 in "
                    "the morning in it."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        current = self.data.get("time_zone") if self.is_bound else self.initial.get("time_zone")
        self.fields["time_zone"].choices = [  # type: ignore[attr-defined]
            ("", _("Choose your time zone")),
            *time_zones.choices_with(current if current and valid_time_zone(current) else "", get_language()),
        ]


class DeleteAccountForm(forms.Form):
    password = forms.CharField(
        label=_("Password"), strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        help_text=_("Type your password to confirm. This cannot be undone."),
    )

    def __init__(self, user, *args, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)

    def clean_password(self):
        password = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise ValidationError(_("That password is not correct."))
        return password


UNCONFIRMED_MESSAGE = _("Confirm your e-mail address first: open the link in the e-mail we sent you when you "
                        "signed up (we have sent it again), then log in.")


class LoginForm(AuthenticationForm):
    """Django's login form; the right password of an account not confirmed yet says so (accounts.backends)."""

    def clean(self):
        try:
            return super().clean()
        except ValidationError:
            if getattr(self.request, "login_unconfirmed", False):
                raise ValidationError(UNCONFIRMED_MESSAGE, code="unconfirmed") from None
            raise


class QueuedPasswordResetForm(PasswordResetForm):
    """The reset e-mail is built and sent by a worker (accounts.tasks): over SMTP, sending it in the request
    made a reset for an address with an account take the mail server's time, and one for no account none."""

    def save(self, *args, request=None, **kwargs):
        from django.utils.translation import get_language

        from . import services

        # One task either way: for no account one that sends nothing (publishing takes ~2 ms; publishing
        # only for an existing account let a reset's time tell which addresses have one).
        user_ids: list[int | None] = [user.pk for user in self.get_users(self.cleaned_data["email"])] or [None]
        for user_id in user_ids:
            services.queue_account_email(services.AccountEmail.PASSWORD_RESET, user_id,
                                         site_url=request.build_absolute_uri("/"), language=get_language())


class ConfirmWithPasswordForm(forms.Form):
    """The confirmation link's page: the password chosen at sign-up proves that whoever has the e-mail also
    signed up (the link alone does not: someone may have signed up with another person's address)."""

    password = forms.CharField(label=_("The password you chose when you signed up"), strip=False,
                               widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))

    def __init__(self, user, *args, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)

    def clean_password(self):
        password = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise ValidationError(_("That is not the password chosen at sign-up. Type it again, or choose a new "
                                    "password below."), code="wrong_password")
        return password


class ConfirmWithNewPasswordForm(SetPasswordForm):
    """Or a new password: whoever holds the e-mail owns the address, and the sign-up password is replaced."""

    prefix = "new"
