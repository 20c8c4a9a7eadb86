"""Rules shared by several apps (as healthchecks keeps them in hc/lib): small, Django-light, no models.

- ``errors``: the JSON error envelope every API error and site-wide JSON error uses;
- ``uploads``: the upload-size rule and its message;
- ``local_dirs``: the folders the embedded default (SQLite) needs, made at start-up.
"""
