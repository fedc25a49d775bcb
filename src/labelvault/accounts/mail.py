"""Emails (password resets, invitations) over SMTP (stdlib smtplib), when an SMTP host is set."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage

from labelvault.config import Settings
from labelvault.errors import LabelVaultError

SMTP_TIMEOUT = 15.0


def enabled(settings: Settings) -> bool:
    return bool(settings.smtp_host)


def send(settings: Settings, to: str, subject: str, text: str, instead: str = "") -> None:
    """One plain-text message; a failure is a 502 naming the cause (and `instead`: what the
    user can do without the email)."""
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = settings.mail_from
    message["To"] = to
    message.set_content(text)
    try:
        smtp_class = smtplib.SMTP_SSL if settings.smtp_ssl else smtplib.SMTP
        with smtp_class(settings.smtp_host, settings.smtp_port, timeout=SMTP_TIMEOUT) as smtp:
            if settings.smtp_starttls and not settings.smtp_ssl:
                smtp.starttls()
            if settings.smtp_user:
                smtp.login(settings.smtp_user, settings.smtp_password or "")
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        raise LabelVaultError(
            f"The email could not be sent ({exc}); check the SMTP settings{instead}.", 502
        ) from None
