"""Run under an interpreter with datumaro: read a CVAT XML dataset with CVAT's own reader.

Prints each item with its subset, whether its image file was found (CVAT creates a
project's tasks from those files) and its annotations, as JSON.
"""

import json
import sys
from pathlib import Path

import datumaro.components.annotation as dm_ann

if not hasattr(dm_ann, "Skeleton"):
    # CVAT's datumaro fork has a Skeleton annotation; upstream datumaro lacks it
    class Skeleton:
        def __init__(self, elements=(), label=None, attributes=None, **kwargs):
            self.elements = list(elements)
            self.label = label
            self.attributes = attributes or {}
            self.__dict__.update(kwargs)

    dm_ann.Skeleton = Skeleton

sys.path.insert(0, str(Path(__file__).parent))
from cvat_reader import CvatExtractor  # noqa: E402


def read(xml_path: str) -> dict:
    ds = CvatExtractor(xml_path)
    cats = ds.categories()[dm_ann.AnnotationType.label]
    items = []
    for item in ds:
        anns = []
        for a in item.annotations:
            entry = {"type": type(a).__name__, "label": cats[a.label].name}
            if hasattr(a, "elements"):
                entry["elements"] = [cats[e.label].name for e in a.elements]
            if type(a).__name__ == "Bbox":
                entry["bbox"] = [round(float(v), 2) for v in a.get_bbox()]
            if a.attributes.get("track_id") is not None:
                entry["track_id"] = a.attributes["track_id"]
            entry["outside"] = bool(a.attributes.get("outside"))
            anns.append(entry)
        media = item.media
        path = getattr(media, "path", None)
        items.append(
            {
                "id": item.id,
                "subset": item.subset,
                "frame": item.attributes.get("frame"),
                "image": path,
                "has_image": bool(path) and Path(path).is_file(),
                "annotations": anns,
            }
        )
    return {"labels": [c.name for c in cats], "items": items}


if __name__ == "__main__":
    json.dump({p: read(p) for p in sys.argv[1:]}, sys.stdout, default=str)
