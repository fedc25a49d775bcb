"""Parsing small XML annotation files with entity and DTD tricks refused up front."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from .base import FormatError


def parse_xml(path: Path) -> ET.Element:
    """The root element of a per-image XML file; DOCTYPE/ENTITY (entity bombs) are refused."""
    data = path.read_bytes()
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise FormatError(f"{path.name}: XML with DOCTYPE/ENTITY declarations is refused")
    try:
        return ET.fromstring(data)
    except ET.ParseError as e:
        raise FormatError(f"{path.name}: malformed XML ({e})") from e


def text(el: ET.Element | None, path: str, default: str = "") -> str:
    found = el.find(path) if el is not None else None
    return (found.text or default).strip() if found is not None else default


def number(el: ET.Element, path: str, file: Path) -> float:
    try:
        return float(text(el, path))
    except ValueError as e:
        raise FormatError(f"{file.name}: <{path}> is not a number") from e
