"""gunicorn settings shared by scripts/run.sh and docker-compose (`gunicorn -c gunicorn.conf.py ...`).

The access log goes to stdout with every credential of a URL redacted (reset, sign-in and unsubscribe links,
query values, Referers; facediag_site.web_server), and responses carry no Server header.
"""

from facediag_site import web_server

accesslog = "-"
logger_class = "facediag_site.web_server.RedactingLogger"
web_server.drop_server_header()
