"""Scan files live in Django's default storage: local files by default, an S3-compatible bucket when
FACEDIAG_S3_BUCKET is set. Code here and in services works by storage name (key), never by local path."""

from django.core.files.storage import default_storage

try:  # S3 clients fail with botocore errors, which are not OSErrors
    from botocore.exceptions import BotoCoreError, ClientError

    STORAGE_ERRORS: tuple = (OSError, BotoCoreError, ClientError)
except ImportError:  # pragma: no cover - boto3 is only needed for object storage
    STORAGE_ERRORS = (OSError,)


def read_bytes(name: str) -> bytes:
    """The stored file's content; FileNotFoundError when it is gone, a STORAGE_ERRORS error when storage fails."""
    with default_storage.open(name, "rb") as fh:
        return fh.read()
