"""Users, groups, passwords, sessions, access tokens and permissions."""
