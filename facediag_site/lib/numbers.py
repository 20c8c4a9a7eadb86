"""The one way a share is written for a person: as a percentage in their language's style, from CLDR
(Babel), since Django's formats have no percent: "87%" in English, "87 %" (a no-break space) in Spanish.

Pages (the ``percent`` template filter), sentences, and the PDF report use it; the browser's scripts write
the same with ``Intl.NumberFormat(lang, {style: "percent"})`` (static/js/site.js ``formatPercent``).
Numbers meant for the browser (a <meter>'s value, chart data) are never written this way.
"""

from __future__ import annotations

from babel.numbers import format_percent
from django.conf import settings
from django.utils import translation


def percent(fraction: float) -> str:
    """``fraction`` (0..1) as a whole percentage in the active language, e.g. "87%" / "87 %"."""
    locale = translation.to_locale(translation.get_language() or settings.LANGUAGE_CODE)
    return format_percent(float(fraction), format=None, locale=locale)
