"""Run under an interpreter with datumaro: read a CVAT XML dataset with CVAT's own reader.

The reader comes from a CVAT source checkout named on the command line (tests pass
$CVAT_SOURCE), so its code is used as CVAT ships it and not copied here.

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


def load_cvat_extractor(cvat_source: str) -> type:
    """CVAT's own CvatExtractor, read from a CVAT checkout (nothing of it is kept here).

    The class sits in cvat/apps/dataset_manager/formats/cvat.py between ``class CvatPath``
    and its registration; it needs only datumaro, defusedxml and one enum of CVAT's.
    """
    import os.path as osp
    from collections import OrderedDict
    from glob import glob

    from datumaro.components import annotation as ann_mod
    from datumaro.components.dataset import DatasetItem
    from datumaro.components.dataset_base import DEFAULT_SUBSET_NAME, DatasetBase
    from datumaro.components.media import Image
    from defusedxml import ElementTree

    text = (Path(cvat_source) / "cvat/apps/dataset_manager/formats/cvat.py").read_text()
    start = text.index("class CvatPath:")
    end = text.index("dm_env.extractors.register")

    class TaskMode:
        INTERPOLATION = "interpolation"

    namespace = {
        "osp": osp,
        "OrderedDict": OrderedDict,
        "glob": glob,
        "DatasetItem": DatasetItem,
        "DEFAULT_SUBSET_NAME": DEFAULT_SUBSET_NAME,
        "DatasetBase": DatasetBase,
        "Image": Image,
        "ElementTree": ElementTree,
        "TaskMode": TaskMode,
        **{
            n: getattr(ann_mod, n)
            for n in (
                "AnnotationType",
                "Bbox",
                "Label",
                "LabelCategories",
                "Points",
                "Polygon",
                "PolyLine",
                "Skeleton",
            )
        },
    }
    exec(compile(text[start:end], "cvat.py", "exec"), namespace)  # noqa: S102
    return namespace["CvatExtractor"]


CvatExtractor = load_cvat_extractor(sys.argv[1]) if __name__ == "__main__" else None


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
    # argv: the CVAT checkout, then annotations.xml files
    json.dump({p: read(p) for p in sys.argv[2:]}, sys.stdout, default=str)
