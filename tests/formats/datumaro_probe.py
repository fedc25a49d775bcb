"""Run under an interpreter with datumaro: print what datumaro reads from a dataset dir."""

import json
import sys

from datumaro.components.annotation import AnnotationType
from datumaro.components.dataset import Dataset


def read(path: str, fmt: str) -> dict:
    ds = Dataset.import_from(path, fmt)
    cats = ds.categories().get(AnnotationType.label)
    items = []
    for item in ds:
        anns = []
        for a in item.annotations:
            label = cats[a.label].name if cats is not None and a.label is not None else None
            entry = {"type": a.type.name, "label": label, "attributes": a.attributes}
            if hasattr(a, "get_bbox"):
                entry["bbox"] = [round(float(v), 2) for v in a.get_bbox()]
            if a.type.name == "points":
                entry["points"] = [round(float(v), 2) for v in a.points]
                entry["visibility"] = [int(v) for v in a.visibility]
            anns.append(entry)
        items.append({"id": item.id, "subset": item.subset, "annotations": anns})
    return {"labels": [c.name for c in cats] if cats else [], "items": items}


def main() -> None:
    # argv: path1 fmt1 path2 fmt2 ... — one interpreter start for all datasets
    args = sys.argv[1:]
    out = {f"{p}|{f}": read(p, f) for p, f in zip(args[0::2], args[1::2], strict=True)}
    json.dump(out, sys.stdout, default=str)


if __name__ == "__main__":
    main()
