"""The time zone list of the profile page: every IANA zone a person may live in, grouped by region, each
named by its city and country in the page's language (Babel's CLDR names: "Madrid, Spain" / "Madrid,
España", "New York, United States" / "Nueva York, Estados Unidos"). The value kept is the IANA name.

Only canonical zones are listed (CLDR's aliases, "Asia/Calcutta" for "Asia/Kolkata", are left out), and no
"Etc/GMT+5"-style offsets; a profile that holds another valid zone (from an older list, or a device) still
shows it (``choices_with``).
"""

from __future__ import annotations

import functools
import unicodedata

from babel import Locale, UnknownLocaleError
from babel.core import get_global
from babel.dates import get_timezone_location
from django.utils.translation import gettext_lazy as _
from django.utils.translation import override, to_locale

from .dates import known_time_zones

#: The regions of the IANA names, in the list's order, with the group's heading.
REGIONS = {
    "Africa": _("Africa"),
    "America": _("Americas"),
    "Antarctica": _("Antarctica"),
    "Arctic": _("Arctic"),
    "Asia": _("Asia"),
    "Atlantic": _("Atlantic Ocean"),
    "Australia": _("Australia"),
    "Europe": _("Europe"),
    "Indian": _("Indian Ocean"),
    "Pacific": _("Pacific Ocean"),
}
UNIVERSAL = "UTC"

Choices = list[tuple[str, str]]
GroupedChoices = list[tuple[str, "str | Choices"]]


def _locale(language: str) -> Locale:
    try:
        return Locale.parse(to_locale(language))
    except (UnknownLocaleError, ValueError):
        return Locale.parse("en")


def _sort_key(text: str) -> str:
    """"Ámsterdam" among the A's: accents and case do not change the order."""
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)).casefold()


def zone_label(name: str, language: str) -> str:
    """ "Madrid, España": the city (or place) and its country in ``language``; "UTC" for UTC."""
    if name == UNIVERSAL or "/" not in name:
        return name
    locale = _locale(language)
    try:
        city = get_timezone_location(name, locale=locale, return_city=True)
    except LookupError:
        city = name.rsplit("/", 1)[-1].replace("_", " ")
    territory = get_global("zone_territories").get(get_global("zone_aliases").get(name, name))
    country = locale.territories.get(territory, "") if territory and territory != "001" else ""
    return f"{city}, {country}" if country and country != city else city


@functools.cache
def _grouped(language: str) -> tuple[tuple[str, tuple[tuple[str, str], ...]], ...]:
    aliases = get_global("zone_aliases")
    by_region: dict[str, list[tuple[str, str]]] = {region: [] for region in REGIONS}
    for name in known_time_zones():
        region = name.split("/", 1)[0]
        if region in by_region and "/" in name and name not in aliases:
            by_region[region].append((name, zone_label(name, language)))
    with override(language):
        return tuple((str(REGIONS[region]), tuple(sorted(zones, key=lambda z: _sort_key(z[1]))))
                     for region, zones in by_region.items() if zones)


def grouped_choices(language: str) -> GroupedChoices:
    """The choices of a ``<select>`` with one ``<optgroup>`` per region (Django's grouped choices), UTC
    first; built once per language and process (~420 zones)."""
    groups: GroupedChoices = [(UNIVERSAL, UNIVERSAL)]
    groups += [(heading, list(zones)) for heading, zones in _grouped(language)]
    return groups


def choices_with(current: str, language: str) -> GroupedChoices:
    """``grouped_choices``, plus ``current`` (a valid zone the list leaves out, an alias) so it stays chosen."""
    groups = grouped_choices(language)
    listed = {value for _heading, zones in _grouped(language) for value, _label in zones} | {UNIVERSAL}
    if current and current not in listed:
        groups.insert(0, (current, zone_label(current, language)))
    return groups
