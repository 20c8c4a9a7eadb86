def username_from_credentials(request, credentials):
    """Web login posts `username`, the API posts `email`: both are the e-mail address."""
    credentials = credentials or {}
    value = credentials.get("username") or credentials.get("email")
    if not value and request is not None:
        value = request.POST.get("username") or request.POST.get("email")
    if not isinstance(value, str):  # hostile JSON may send numbers, lists or objects
        return None
    # Axes stores this in a 255-character column; PostgreSQL refuses NUL bytes.
    return value.replace("\x00", "").strip().lower()[:254] or None
