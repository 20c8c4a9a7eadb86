"""The one-click sign-in link of the welcome e-mail."""

from django.contrib.auth.tokens import PasswordResetTokenGenerator


class SignInLinkTokenGenerator(PasswordResetTokenGenerator):
    """Like a password-reset token (signed, expires after PASSWORD_RESET_TIMEOUT), under its own salt so
    neither kind of link works as the other. The hash covers last_login and the password, so the link
    signs in once and dies with a password change."""

    key_salt = "accounts.tokens.SignInLinkTokenGenerator"


sign_in_link_token = SignInLinkTokenGenerator()
