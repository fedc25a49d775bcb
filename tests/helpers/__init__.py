"""Helpers shared by the test packages: servers on 127.0.0.1, clients, canonical forms."""
