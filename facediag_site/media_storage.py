"""Which storage holds uploaded media: the local MEDIA_ROOT by default, or a private S3-compatible bucket
(AWS S3, MinIO) when FACEDIAG_S3_BUCKET is set. Files are never linked publicly: the access-checked views
in diagnosis.media stream them to the owner (or an audited reviewer)."""


def default_storage_config(env) -> dict:
    """The STORAGES["default"] entry for the environment ``env`` (a django-environ Env)."""
    bucket = env("FACEDIAG_S3_BUCKET", default="")
    if not bucket:
        return {"BACKEND": "django.core.files.storage.FileSystemStorage"}
    endpoint_url = env("FACEDIAG_S3_ENDPOINT_URL", default="") or None
    return {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": bucket,
            "endpoint_url": endpoint_url,  # MinIO or another S3-compatible server; unset for AWS
            "region_name": env("FACEDIAG_S3_REGION", default="") or None,
            # Unset keys fall back to boto3's own chain (instance role, AWS_* variables).
            "access_key": env("FACEDIAG_S3_ACCESS_KEY_ID", default="") or None,
            "secret_key": env("FACEDIAG_S3_SECRET_ACCESS_KEY", default="") or None,
            "location": env("FACEDIAG_S3_PREFIX", default=""),
            "addressing_style": env("FACEDIAG_S3_ADDRESSING_STYLE", default="path" if endpoint_url else "") or None,
            "signature_version": "s3v4",
            "default_acl": "private",  # every object private, whatever the bucket's default
            "querystring_auth": True,  # storage.url() can only ever be a signed, short-lived URL
            "querystring_expire": env.int("FACEDIAG_S3_URL_EXPIRE_SECONDS", default=60),
            "file_overwrite": False,  # same as the filesystem: never replace an existing object
            "object_parameters": {"CacheControl": "private, no-store"},
        },
    }
