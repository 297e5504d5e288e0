"""Send a digest by e-mail: multipart text and HTML, a deterministic Message-ID, TLS verified.

The Message-ID is made of the channel and the digest's first and last event ids, so a digest sent
again after a crash (the send happened, recording it did not) carries the same Message-ID and mail
clients show it once. The SMTP password comes only from EXOWATCH_SMTP_PASSWORD.
"""

from __future__ import annotations

import os
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate

from alerts.digest import Digest
from alerts.render import render_html, render_text, subject
from monitor.config import ChannelConfig

PASSWORD_ENV = "EXOWATCH_SMTP_PASSWORD"
TIMEOUT_SECONDS = 30


class SendFailed(Exception):
    """The digest could not be handed to the SMTP server; nothing was recorded as sent."""


def message_id(channel: ChannelConfig, digest: Digest) -> str:
    domain = channel.sender.rsplit("@", 1)[-1].strip(">") or "exowatch.invalid"
    return f"<exowatch.{channel.name}.{digest.first_event_id}-{digest.last_event_id}@{domain}>"


def build_message(channel: ChannelConfig, digest: Digest) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = subject(digest)
    message["From"] = channel.sender
    message["To"] = ", ".join(channel.to)
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = message_id(channel, digest)
    message.set_content(render_text(digest))
    message.add_alternative(render_html(digest), subtype="html")
    return message


def send(channel: ChannelConfig, digest: Digest) -> str:
    """Send; returns the Message-ID. SendFailed names what went wrong."""
    message = build_message(channel, digest)
    context = ssl.create_default_context()
    password = os.environ.get(PASSWORD_ENV)
    try:
        if channel.smtp_security == "tls":
            client = smtplib.SMTP_SSL(
                channel.smtp_host, channel.smtp_port, timeout=TIMEOUT_SECONDS, context=context
            )
        else:
            client = smtplib.SMTP(channel.smtp_host, channel.smtp_port, timeout=TIMEOUT_SECONDS)
        with client:
            if channel.smtp_security == "starttls":
                client.starttls(context=context)
            if channel.smtp_username:
                client.login(channel.smtp_username, password or "")
            client.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        raise SendFailed(f"{channel.smtp_host}:{channel.smtp_port}: {type(exc).__name__}: {exc}") from None
    return message["Message-ID"]
