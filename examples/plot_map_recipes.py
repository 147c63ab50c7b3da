"""Plot the rows of several `map_recipe.py --out` JSON files as one coverage/score frontier figure.

  python examples/plot_map_recipes.py runs/recipe/rows/*.json --out docs/figures/map-recipes.png \
      [--rows "CAM" "average:0.5"]

Each JSON gives one point per row whose source ends with one of ``--rows`` (default: every model's CAM and
every fused row), labelled by the file stem (and the fusion); ``FILE.json:A,B`` keeps
that file's rows ending with A or B instead. The centred Gaussian of the first file is the reference line.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from primary_mask.figures import frontier_figure
from primary_mask.quality.scores import MapScores


def label(stem: str, source: str) -> str:
    """A short point label: the file stem for a single model's CAM, the stem and the fusion for a fused row."""
    if source.endswith(" CAM"):
        return stem if "[" not in source else f"{stem}: {source.removesuffix(' CAM')}"
    return f"{stem}: {source.removeprefix('fused ').replace('neighboring', 'nb').replace('average', 'avg')}"


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("results", nargs="+", help="JSON files written by map_recipe.py --out")
    p.add_argument("--out", required=True, help="PNG to write")
    p.add_argument("--rows", nargs="*", default=None, help="keep rows whose source ends with one of these")
    p.add_argument("--title", default="")
    args = p.parse_args(argv)
    points, references = [], []
    for spec in args.results:
        path, _, only = spec.partition(".json:")
        path = path if not only else path + ".json"
        keep = only.split(",") if only else args.rows
        rows = [MapScores(**r) for r in json.loads(Path(path).read_text())["rows"]]
        for row in rows:
            if row.source.startswith("centred Gaussian"):
                if not references:
                    references.append(row)
                continue
            if keep is None or any(row.source.endswith(key) for key in keep):
                points.append((label(Path(path).stem, row.source), row))
    print(frontier_figure(points, references, args.out, title=args.title))


if __name__ == "__main__":
    main()
