"""Organizations, their memberships (owner, maintainer, supervisor, worker) and invitations."""
