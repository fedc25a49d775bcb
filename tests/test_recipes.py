"""The container recipes (Dockerfile, compose, Nomad) use only commands, flags and
settings that exist: images cannot be built here, so this is what keeps them honest."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest
import yaml

from labelvault.cli import main
from labelvault.config import Settings

ROOT = Path(__file__).resolve().parents[1]
RECIPES = [
    ROOT / "Dockerfile",
    ROOT / "deploy" / "compose.yaml",
    ROOT / "deploy" / "labelvault.nomad.hcl",
]
SETTING = re.compile(r"\bLABELVAULT_[A-Z_]+\b")


def _commands(path: Path) -> list[list[str]]:
    """Every argument list the recipe hands to the `labelvault` entry point."""
    text = path.read_text()
    if path.suffix == ".yaml":
        services = yaml.safe_load(text)["services"]
        return [
            s["command"]
            for s in services.values()
            if s.get("image", "").startswith("labelvault") or s.get("build")
        ]
    if path.name == "Dockerfile":
        found = re.search(r"^CMD (\[.*\])", text, re.M)
        assert found, "the Dockerfile has no CMD"
        return [yaml.safe_load(found.group(1))]
    return [yaml.safe_load(args) for args in re.findall(r"args\s*=\s*(\[.*\])", text)]


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda p: p.name)
def test_recipe_commands_and_settings_exist(recipe: Path) -> None:
    commands = _commands(recipe)
    assert commands, f"{recipe.name} starts no labelvault command"
    for args in commands:
        name, *rest = args
        command = main.commands.get(name)
        assert isinstance(command, click.Command), f"{recipe.name}: no `labelvault {name}`"
        flags = {opt for p in command.params for opt in getattr(p, "opts", [])}
        for arg in rest:
            if arg.startswith("--"):
                assert arg in flags, f"{recipe.name}: `labelvault {name}` has no {arg}"
    fields = set(Settings.model_fields)
    used = set(SETTING.findall(recipe.read_text()))
    assert used or recipe.name != "compose.yaml"
    for env in used:
        assert env.removeprefix("LABELVAULT_").lower() in fields, (
            f"{recipe.name}: {env} is no setting"
        )


def test_dockerfile_runs_as_a_non_root_user() -> None:
    text = (ROOT / "Dockerfile").read_text()
    users = re.findall(r"^USER (\S+)", text, re.M)
    assert users and users[-1] not in ("root", "0")
    assert re.search(r"^ENTRYPOINT \[\"labelvault\"\]", text, re.M)
