# One date style on every page, chart, PDF and e-mail (facediag_site.lib.dates): "4 dic 2026, 12:26"
# (Spanish writes month abbreviations in lower case).
DATE_FORMAT = "j b Y"
DATETIME_FORMAT = "j b Y, H:i"
TIME_FORMAT = "H:i"
