import logging
import smtplib

from celery import shared_task

from . import services

logger = logging.getLogger(__name__)

#: Seconds before each retry when the mail server has trouble. All of them stay well below the broker's
#: visibility timeout (CELERY_VISIBILITY_TIMEOUT): a retry waiting longer would be delivered twice.
RETRY_DELAYS = (5, 15, 30)


def is_transient(exc: Exception) -> bool:
    """A mail server that is down, busy or answers 4xx may take the message later; a 5xx answer will not."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(400 <= code < 500 for code, _message in exc.recipients.values())
    if isinstance(exc, (smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError)):
        return True
    if isinstance(exc, smtplib.SMTPResponseException):
        return 400 <= exc.smtp_code < 500
    return isinstance(exc, OSError)  # refused, unreachable, timed out (smtplib's errors are OSErrors too)


@shared_task(name=services.ACCOUNT_EMAIL_TASK, bind=True, acks_late=True, max_retries=len(RETRY_DELAYS))
def send_account_email(self, kind, user_id, site_url, language=""):
    """One account e-mail (confirmation, already registered, password reset), sent outside the request."""
    try:
        services.send_account_email(kind, user_id, site_url=site_url, language=language)
    except Exception as exc:
        if not is_transient(exc):
            logger.error("%s e-mail of user %s refused by the mail server (%s)", kind, user_id, type(exc).__name__)
            return "refused"
        if self.request.retries >= self.max_retries:
            logger.error("%s e-mail of user %s not sent after %d attempts (%s)", kind, user_id,
                         self.request.retries + 1, type(exc).__name__)
            return "gave_up"
        logger.warning("%s e-mail of user %s: mail server trouble (%s), retry %d", kind, user_id,
                       type(exc).__name__, self.request.retries + 1)
        raise self.retry(exc=exc, countdown=RETRY_DELAYS[self.request.retries]) from None
    return "sent"
