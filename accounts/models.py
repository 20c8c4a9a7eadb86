from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.utils import timezone


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create_user(self, email, password, **extra):
        if not email:
            raise ValueError("An e-mail address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    # An account made by an operator (createsuperuser, a command, the admin, a test) counts as confirmed: the
    # operator vouches for the address. Self sign-up (accounts.services.sign_up) makes unconfirmed ones.
    def create_user(self, email, password=None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        extra.setdefault("email_verified_at", timezone.now())
        return self._create_user(email, password, **extra)

    def create_superuser(self, email, password=None, **extra):
        extra.update(is_staff=True, is_superuser=True)
        extra.setdefault("email_verified_at", timezone.now())
        return self._create_user(email, password, **extra)

    def get_by_natural_key(self, email):
        return self.get(email__iexact=email)


class User(AbstractBaseUser, PermissionsMixin):
    """A FaceDiag account; the e-mail address is the login."""

    email = models.EmailField("e-mail address", unique=True)
    display_name = models.CharField(max_length=100, blank=True)
    is_staff = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)
    consent_training = models.BooleanField(
        "let reviewed photos improve the model",
        default=False,
        help_text="Opt-in. Withdrawing removes your photos from future training exports.",
    )
    consent_updated_at = models.DateTimeField(null=True, blank=True)
    # The pages' and e-mails' language; blank follows the browser (Accept-Language or the language menu).
    language = models.CharField(max_length=10, choices=settings.LANGUAGES, blank=True, default="")
    # When the owner proved the address (the link of the confirmation e-mail, or a password reset). Until
    # then the password signs nobody in, and a new sign-up with the address replaces this one.
    email_verified_at = models.DateTimeField("e-mail address confirmed", null=True, blank=True)
    # The last new password (change, reset, admin): API tokens issued before it were revoked then.
    password_changed_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The pages', charts', reports' and reminders' time zone (IANA name); blank: the device's, else TIME_ZONE.
    time_zone = models.CharField(max_length=64, blank=True, default="")

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = []

    class Meta:
        ordering = ["email"]

    def __str__(self):
        return self.email

    @property
    def email_verified(self) -> bool:
        return self.email_verified_at is not None
