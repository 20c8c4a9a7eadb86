"""The worker's side of account e-mails (accounts.tasks.send_account_email), against a real local SMTP server:
a busy or unreachable mail server is retried a few times, then given up with an error in the log; a refusal
(5xx) is not retried."""

import logging

import pytest
from aiosmtpd.controller import Controller

from accounts import services, tasks
from tests.faults.infra import free_port

pytestmark = pytest.mark.django_db


class ScriptedMailServer:
    """Answers DATA with the given replies in turn, then 250."""

    def __init__(self, replies):
        self.replies, self.accepted = list(replies), []
        server = self

        class Handler:
            async def handle_DATA(self, smtp, session, envelope):
                if server.replies:
                    return server.replies.pop(0)
                server.accepted.append(envelope.rcpt_tos)
                return "250 OK"

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)


@pytest.fixture
def smtp(settings):
    servers = []

    def start(*replies):
        server = ScriptedMailServer(replies)
        server.controller.start()
        servers.append(server)
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", server.port
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        return server

    yield start
    for server in servers:
        server.controller.stop()


def send(user, kind=services.AccountEmail.PASSWORD_RESET):
    return tasks.send_account_email.apply(args=(str(kind), user.pk, "https://facediag.example/", "")).get()


def test_a_busy_mail_server_is_tried_again(smtp, user):
    server = smtp("421 4.3.2 busy, try later", "451 4.3.0 temporary failure")
    assert send(user) == "sent"
    assert server.accepted == [[user.email]]


def test_retries_stop_after_a_limit_with_an_error_logged(smtp, user, caplog):
    server = smtp(*["421 4.3.2 busy"] * (len(tasks.RETRY_DELAYS) + 1))
    with caplog.at_level(logging.WARNING):
        assert send(user) == "gave_up"
    assert server.accepted == [] and not server.replies  # every attempt reached the server: 1 + the retries
    assert f"not sent after {len(tasks.RETRY_DELAYS) + 1} attempts" in caplog.text


def test_a_refusal_is_not_retried(smtp, user, caplog):
    server = smtp("554 5.7.1 rejected", "421 4.3.2 never reached")
    with caplog.at_level(logging.WARNING):
        assert send(user) == "refused"
    assert server.replies == ["421 4.3.2 never reached"]
    assert user.email not in caplog.text  # ids in the log, never addresses


def test_an_unreachable_mail_server_is_transient(settings, user):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()  # nothing listens there
    assert send(user) == "gave_up"


def test_nothing_is_sent_for_an_account_that_is_gone_or_already_confirmed(smtp, user):
    server = smtp()
    assert send(user, services.AccountEmail.CONFIRM) == "sent"  # confirmed already: nothing to send
    user.delete()
    assert send(user) == "sent"
    assert server.accepted == []
