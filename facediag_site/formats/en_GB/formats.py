# One date style on every page, chart, PDF and e-mail (facediag_site.lib.dates): "4 Dec 2026, 12:26".
DATE_FORMAT = "j M Y"
DATETIME_FORMAT = "j M Y, H:i"
TIME_FORMAT = "H:i"
