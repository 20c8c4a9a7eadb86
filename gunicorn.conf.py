"""gunicorn settings shared by scripts/run.sh and docker-compose (`gunicorn -c gunicorn.conf.py ...`).

No gunicorn access log: Django writes the one line per request itself, as JSON with the request id, the
path without its credentials, the status and the duration (facediag_site.logging.AccessLogMiddleware), so
every line on stdout has the same shape. gunicorn's error log still goes through the redacting logger (a
line naming a request has the credentials of reset, sign-in and unsubscribe links removed;
facediag_site.web_server), and responses carry no Server header.
"""

from facediag_site import web_server

accesslog = None
logger_class = "facediag_site.web_server.RedactingLogger"
web_server.drop_server_header()
