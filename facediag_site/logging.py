import logging
import re

from .lib import secret_urls

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
BEARER = re.compile(r"(?i)(bearer\s+|token[\"'=:\s]+)[\w.\-]{16,}")
JWT = re.compile(r"eyJ[\w-]{8,}\.[\w-]{8,}\.[\w-]{8,}")


class RedactPersonalData(logging.Filter):
    """Logs carry ids, never e-mail addresses or tokens: scrub them from every record (and the credentials of
    reset, sign-in and unsubscribe links, which Django names in messages such as a CSRF failure's)."""

    def filter(self, record):
        try:
            message = record.getMessage()
        except Exception:
            return True
        cleaned = JWT.sub("[token]", BEARER.sub(r"\1[token]", EMAIL.sub("[email]", secret_urls.redact_text(message))))
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        return True
