"""Login failures, web and API alike (accounts.backends.LoginGuardBackend asks before every password check).

- Per account: after LOGIN_FAILURE_LIMIT failures (from anywhere, within LOGIN_LOCKOUT_MINUTES) the
  account is locked for addresses it has not logged in from. From an address where the account did log
  in successfully (remembered LOGIN_KNOWN_IP_DAYS) there is no hard lock, only a progressive delay
  driven by the failures from that address itself (1 s, 2 s, 4 s ... up to LOGIN_MAX_DELAY_SECONDS):
  a stranger's failures can never lock the owner out of their usual address.
- Per address: an address is locked only when it has failed against LOGIN_IP_ACCOUNT_LIMIT distinct
  accounts (credential stuffing); failures on a few accounts never lock out everyone behind a shared
  address (an office, a carrier's NAT).

Counters live in the shared cache and fail open (accounts.ratelimit.fail_open): with Redis down logins
still work, unguarded, and a warning is logged.
"""

import hashlib
from dataclasses import dataclass

from django.conf import settings

from . import ratelimit

PREFIX = "login"


@dataclass(frozen=True)
class Refusal:
    retry_after: int
    reason: str  # "account", "delay" or "address"


def account_from_credentials(credentials):
    """Web login posts `username`, the API posts `email`: both are the e-mail address."""
    value = (credentials or {}).get("username") or (credentials or {}).get("email")
    if not isinstance(value, str):  # hostile JSON may send numbers, lists or objects
        return None
    return value.replace("\x00", "").strip().lower()[:254] or None


def _digest(*parts):
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]  # no e-mails or addresses in keys


def _keys(account, ip):
    return {
        "account": f"{PREFIX}:account:{_digest(account)}",
        "pair": f"{PREFIX}:pair:{_digest(account, ip)}",
        "known": f"{PREFIX}:known:{_digest(account, ip)}",
        "address": f"{PREFIX}:address:{_digest(ip)}",
    }


def _window():
    return settings.LOGIN_LOCKOUT_MINUTES * 60


def check(account, ip):
    """None when a password check may go ahead, else a Refusal saying how long to wait."""
    keys = _keys(account, ip)
    values = ratelimit.fail_open(lambda: ratelimit.cache.get_many(list(keys.values())), {})
    now = ratelimit.now()
    limit = settings.LOGIN_FAILURE_LIMIT
    if values.get(keys["known"]):
        failures, last = values.get(keys["pair"]) or (0, 0)
        if failures >= limit:
            delay = min(2 ** (failures - limit), settings.LOGIN_MAX_DELAY_SECONDS)
            if now < last + delay:
                return Refusal(max(1, int(last + delay - now + 0.999)), "delay")
        return None
    # Counters expire in the cache too; comparing with their own timestamps keeps the windows exact.
    failed_accounts, since = values.get(keys["address"]) or (set(), now)
    if len(failed_accounts) >= settings.LOGIN_IP_ACCOUNT_LIMIT and now < since + _window():
        return Refusal(max(1, int(since + _window() - now)), "address")
    failures, last = values.get(keys["account"]) or (0, 0)
    if failures >= limit and now < last + _window():
        return Refusal(max(1, int(last + _window() - now)), "account")
    return None


def record_failure(account, ip):
    keys = _keys(account, ip)
    now = ratelimit.now()

    def update():
        values = ratelimit.cache.get_many([keys["account"], keys["pair"], keys["address"]])

        def counted(key):
            failures, last = values.get(key) or (0, 0)
            return failures + 1 if now < last + _window() else 1

        account_failures, pair_failures = counted(keys["account"]), counted(keys["pair"])
        failed_accounts, since = values.get(keys["address"]) or (set(), now)
        if now >= since + _window():
            failed_accounts, since = set(), now
        failed_accounts = {*failed_accounts, _digest(account)}
        ratelimit.cache.set_many({keys["account"]: (account_failures, now), keys["pair"]: (pair_failures, now)},
                                 timeout=_window())
        ratelimit.cache.set(keys["address"], (failed_accounts, since), timeout=max(1, int(since + _window() - now)))

    ratelimit.fail_open(update, None)


def record_success(account, ip):
    keys = _keys(account, ip)

    def update():
        ratelimit.cache.delete_many([keys["account"], keys["pair"]])
        ratelimit.cache.set(keys["known"], 1, timeout=settings.LOGIN_KNOWN_IP_DAYS * 86400)

    ratelimit.fail_open(update, None)
