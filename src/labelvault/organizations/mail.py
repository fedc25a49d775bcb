"""Invitation emails over SMTP (stdlib smtplib), sent only when an SMTP host is configured."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage

from labelvault.config import Settings
from labelvault.errors import LabelVaultError

SMTP_TIMEOUT = 15.0


def enabled(settings: Settings) -> bool:
    return bool(settings.smtp_host)


def invitation_link(base_url: str, key: str) -> str:
    """The page that shows and accepts an invitation; works whether or not mail is on."""
    return f"{base_url}/invitations/{key}"


def send_invitation(
    settings: Settings, to: str, inviter: str, organization: str, role: str, link: str
) -> None:
    message = EmailMessage()
    message["Subject"] = f"You are invited to the organization {organization} on LabelVault"
    message["From"] = settings.mail_from
    message["To"] = to
    message.set_content(
        f"{inviter} invites you to join the organization '{organization}' as {role}.\n\n"
        f"Open this link to accept or decline:\n{link}\n\n"
        "The invitation expires after 7 days.\n"
    )
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
            f"The invitation email could not be sent ({exc}); check the SMTP settings or "
            "share the invitation link instead.",
            502,
        ) from None
