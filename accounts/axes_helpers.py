def username_from_credentials(request, credentials):
    """Web login posts `username`, the API posts `email`: both are the e-mail address."""
    credentials = credentials or {}
    value = credentials.get("username") or credentials.get("email")
    if not value and request is not None:
        value = request.POST.get("username") or request.POST.get("email")
    return (value or "").strip().lower() or None
