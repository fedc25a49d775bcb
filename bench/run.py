"""`make bench`: every workload against LabelVault (SQLite, or PostgreSQL with --postgres)."""

from __future__ import annotations

import argparse

from harness import add_common_args, run_suite


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    add_common_args(parser)
    run_suite(parser.parse_args(), with_peer=False)


if __name__ == "__main__":
    main()
