"""Who ran a management command, for the audit trail of model changes."""

from __future__ import annotations

import getpass
import os


def command_actor(given: str | None = None) -> str:
    """``--actor`` when given, else the operating-system user; a container without a passwd entry for its
    uid still gets a name ("uid 1000") so that no command-line change of model is recorded as nobody's."""
    if given and given.strip():
        return given.strip()[:150]
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # getpwuid fails for an unnamed uid (Kubernetes runAsUser)
        return f"uid {os.getuid()}"
