"""Face geometry of the 68-point landmark layout: the part table, the parts that are erased, hull and part masks.

One home for every region drawn from landmarks, so the Landmark ablation (``transforms``), the landmark reference
map (``quality``), the pseudo-fakes (``synth``) and the shortcut benchmark draw the same pixels. Points are
``(68, 2)`` (x, y) pixels in dlib / iBUG order; masks are drawn with OpenCV at 1/16-pixel precision. No torch.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = [
    "ERASE_PARTS",
    "PARTS_68",
    "check_68",
    "check_landmarks",
    "hull_mask",
    "part_box",
    "part_mask",
    "part_points",
    "parts_union",
]

# The dlib / iBUG 68-point layout (what dlib, DeepfakeBench and SBI store): indices of each part's points.
PARTS_68 = {
    "jaw": list(range(0, 17)),
    "brows": list(range(17, 27)),
    "nose": list(range(27, 36)),
    "left_eye": list(range(36, 42)),
    "right_eye": list(range(42, 48)),
    "mouth": list(range(48, 60)),
}

# The parts Table IV erases, each one or more convex polygons of PARTS_68.
ERASE_PARTS = {"eyes": ("left_eye", "right_eye"), "nose": ("nose",), "mouth": ("mouth",)}


def check_68(points, name: str = "landmarks", allow_empty: bool = False) -> np.ndarray:
    """``points`` as a ``(68, 2)`` float64 array, or ``ValueError`` naming ``name`` when they are not 68 finite
    (x, y) points. ``allow_empty``: zero points (a face without landmarks) are returned as ``(0, 2)``."""
    pts = np.asarray(points, dtype=np.float64)
    if allow_empty and pts.size == 0:
        return np.zeros((0, 2))
    what = f"{name} must be 68 finite (x, y) points" + (", or none" if allow_empty else "")
    if pts.size != 136 or pts.shape[-1:] not in ((2,), (136,)):
        raise ValueError(f"{what}; got shape {tuple(np.shape(points))}")
    pts = pts.reshape(68, 2)
    if not np.isfinite(pts).all():
        raise ValueError(f"{what}; they contain NaN or inf")
    return pts


def check_landmarks(landmarks, size: tuple[int, int], name: str = "landmarks") -> np.ndarray:
    """:func:`check_68`, and that the points belong to an ``(H, W)`` image: ``ValueError`` when a point lies more
    than 25% of the image outside it, or the face is degenerate (the hull of all points under 1% of the image)."""
    import cv2

    pts = check_68(landmarks, name)
    h, w = size
    margin_x, margin_y = 0.25 * w, 0.25 * h
    if (
        (pts[:, 0] < -margin_x).any()
        or (pts[:, 0] > w + margin_x).any()
        or (pts[:, 1] < -margin_y).any()
        or (pts[:, 1] > h + margin_y).any()
    ):
        raise ValueError(
            f"{name} lie outside the {w}x{h} image (x {pts[:, 0].min():.0f}..{pts[:, 0].max():.0f}, "
            f"y {pts[:, 1].min():.0f}..{pts[:, 1].max():.0f}); do they belong to this image and size?"
        )
    area = cv2.contourArea(cv2.convexHull(pts.astype(np.float32)))
    if area < 0.01 * h * w:
        raise ValueError(f"{name} are degenerate: their hull covers {area:.0f} px of a {w}x{h} image")
    return pts


def hull_mask(points: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Filled convex hull of ``points`` (N, 2) (x, y) as a float32 (H, W) mask of 0/1 (1/16-pixel precision)."""
    import cv2

    mask = np.zeros(size, np.uint8)
    hull = cv2.convexHull(np.round(np.asarray(points) * 16).astype(np.int32))
    cv2.fillConvexPoly(mask, hull, 1, lineType=cv2.LINE_8, shift=4)
    return mask.astype(np.float32)


def part_points(points: np.ndarray, part: str) -> list[np.ndarray]:
    """The polygons of an erase part (``ERASE_PARTS``) or of one ``PARTS_68`` entry, as point arrays."""
    if part in ERASE_PARTS:
        return [points[PARTS_68[name]] for name in ERASE_PARTS[part]]
    if part in PARTS_68:
        return [points[PARTS_68[part]]]
    raise ValueError(f"part must be one of {(*ERASE_PARTS, *PARTS_68)}, got {part!r}")


def part_mask(points: np.ndarray, size: tuple[int, int], part: str, margin: float = 0.0) -> np.ndarray:
    """bool (H, W): the convex hull of each polygon of ``part``, grown by ``margin`` times the part's largest
    extent (an elliptic dilation of ``round(margin * extent)`` px). The Landmark ablation's region (Table IV)."""
    import cv2

    polygons = part_points(np.asarray(points, dtype=np.float64), part)
    canvas = np.maximum.reduce([hull_mask(pts, size) for pts in polygons]).astype(np.uint8)
    grow = int(round(margin * max(float(np.ptp(pts, axis=0).max()) for pts in polygons)))
    if grow > 0:
        canvas = cv2.dilate(canvas, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1)))
    return canvas.astype(bool)


def part_box(points: np.ndarray, size: tuple[int, int], part: str, grow: float = 1.0) -> tuple[int, int, int, int]:
    """``(top, left, height, width)`` of the axis-aligned box around ``part``'s points, its sides scaled by
    ``grow`` about their centre, rounded outward to whole pixels and clipped to the ``(H, W)`` image; at least one
    pixel a side. ``ValueError`` for ``grow <= 0`` or a box that lies wholly outside the image."""
    if not grow > 0:
        raise ValueError(f"grow must be > 0, got {grow}")
    pts = np.concatenate(part_points(np.asarray(points, dtype=np.float64), part))
    (x0, y0), (x1, y1) = pts.min(0), pts.max(0)
    cx, cy, hw, hh = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) * grow / 2, (y1 - y0) * grow / 2
    h, w = size
    left, top = max(0, int(np.floor(cx - hw))), max(0, int(np.floor(cy - hh)))
    right, bottom = min(w, max(left + 1, int(np.ceil(cx + hw)))), min(h, max(top + 1, int(np.ceil(cy + hh))))
    if right <= left or bottom <= top:
        raise ValueError(f"the {part} box lies outside the {w}x{h} image")
    return top, left, bottom - top, right - left


def parts_union(points: np.ndarray, size: tuple[int, int], parts: Sequence[str], margin: float = 0.0) -> np.ndarray:
    """bool (H, W): the union of :func:`part_mask` over ``parts``."""
    return np.logical_or.reduce([part_mask(points, size, part, margin) for part in parts])
