"""Scoring maps against the truth: manipulation masks from real/fake pairs, and how well maps point at them."""

from primary_mask.quality.manipulation import (
    RULE,
    MaskFolder,
    MaskReport,
    Pair,
    PairResult,
    manipulation_mask,
    read_pairs,
    write_masks,
)
from primary_mask.quality.oracle import OracleReport, oracle_map, oracle_maps, write_oracle_store
from primary_mask.quality.scores import (
    MapScores,
    coverage,
    gaussian_map,
    landmark_parts_map,
    pixel_auc,
    pointing_game,
    score_maps,
    score_store,
    scores_table,
    top_precision,
)

__all__ = [
    "RULE",
    "MapScores",
    "MaskFolder",
    "MaskReport",
    "OracleReport",
    "Pair",
    "PairResult",
    "coverage",
    "gaussian_map",
    "landmark_parts_map",
    "manipulation_mask",
    "oracle_map",
    "oracle_maps",
    "pixel_auc",
    "pointing_game",
    "read_pairs",
    "score_maps",
    "score_store",
    "scores_table",
    "top_precision",
    "write_masks",
    "write_oracle_store",
]
