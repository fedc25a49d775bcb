"""Dataset formats as pure codecs: readers/writers of each format and the CVAT backup layout."""

from .base import (
    AttributeDef,
    ExportSource,
    Format,
    FormatError,
    FrameInfo,
    ImportedDataset,
    ImportedFrame,
    LabelDef,
    SourceMeta,
)
from .registry import FORMATS, get_exporter, get_importer, list_formats, open_dataset

__all__ = [
    "FORMATS",
    "AttributeDef",
    "ExportSource",
    "Format",
    "FormatError",
    "FrameInfo",
    "ImportedDataset",
    "ImportedFrame",
    "LabelDef",
    "SourceMeta",
    "get_exporter",
    "get_importer",
    "list_formats",
    "open_dataset",
]
