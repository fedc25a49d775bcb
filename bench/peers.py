"""`make bench-peers`: the same workloads against LabelVault and Label Studio, side by side."""

from __future__ import annotations

import argparse

from harness import add_common_args, run_suite
from servers import install_label_studio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    add_common_args(parser)
    parser.add_argument(
        "--ls-boxes-path",
        choices=["bulk", "per-task"],
        default="bulk",
        help="Label Studio box import: bulk predictions + convert (default), or one "
        "POST /api/tasks/{id}/annotations per image",
    )
    parser.add_argument("--ls-version", default=None, help="pin label-studio (default newest)")
    args = parser.parse_args()
    install_label_studio(args.ls_version)
    run_suite(args, with_peer=True)


if __name__ == "__main__":
    main()
