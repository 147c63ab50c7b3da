"""PNG figures people would rather look at than read: tiles (heatmap overlays, labelled grids, erase rows) and
the figures built from them (the Fig. 7 inspect grid, the Fig. 3 / Table I stats, the pseudo-fake grid, the map
scores against the forgery)."""

from primary_mask.figures.grids import inspect_grid, stats_figure, synth_grid
from primary_mask.figures.scores import frontier_figure, scores_figure
from primary_mask.figures.tiles import erase_row, labelled_grid, overlay_heatmap, write_png

__all__ = [
    "erase_row",
    "inspect_grid",
    "labelled_grid",
    "overlay_heatmap",
    "frontier_figure",
    "scores_figure",
    "stats_figure",
    "synth_grid",
    "write_png",
]
