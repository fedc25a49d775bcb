"""Invitation emails, sent through the accounts' SMTP sender when an SMTP host is set."""

from __future__ import annotations

from labelvault.accounts.mail import enabled, send
from labelvault.config import Settings

__all__ = ["enabled", "invitation_link", "send_invitation"]


def invitation_link(base_url: str, key: str) -> str:
    """The page that shows and accepts an invitation; works whether or not mail is on."""
    return f"{base_url}/invitations/{key}"


def send_invitation(
    settings: Settings, to: str, inviter: str, organization: str, role: str, link: str
) -> None:
    send(
        settings,
        to,
        f"You are invited to the organization {organization} on LabelVault",
        f"{inviter} invites you to join the organization '{organization}' as {role}.\n\n"
        f"Open this link to accept or decline:\n{link}\n\n"
        "The invitation expires after 7 days.\n",
        instead=" or share the invitation link instead",
    )
