"""The link of the confirmation e-mail sent at sign-up."""

from django.contrib.auth.tokens import PasswordResetTokenGenerator


class EmailConfirmationTokenGenerator(PasswordResetTokenGenerator):
    """Like a password-reset token (signed, expires after PASSWORD_RESET_TIMEOUT), under its own salt so
    neither kind of link works as the other. The hash covers the password, last login and the confirmation
    itself, so the link works once and dies when a new sign-up replaces the registration it was sent for."""

    key_salt = "accounts.tokens.EmailConfirmationTokenGenerator"

    def _make_hash_value(self, user, timestamp):
        confirmed = "" if user.email_verified_at is None else user.email_verified_at.replace(microsecond=0, tzinfo=None)
        return f"{super()._make_hash_value(user, timestamp)}{confirmed}{user.email}"


email_confirmation_token = EmailConfirmationTokenGenerator()
