"""The one rule for whether a stored map fits an image: used by ``with_primary_maps`` and by the albumentations
adapter's ``map_for_image``, so a map never lies silently on other content."""

from __future__ import annotations

__all__ = ["aspects_differ", "check_map_fits"]


def aspects_differ(a: tuple[int, int], b: tuple[int, int], tolerance: float = 0.02) -> bool:
    """Whether two (h, w) sizes differ in aspect ratio by more than ``tolerance`` (relative): rounding a resize to
    whole pixels stays within it."""
    return abs(a[0] * b[1] - a[1] * b[0]) > tolerance * a[1] * b[0]


def check_map_fits(
    what: str,
    map_size: tuple[int, int],
    image_size: tuple[int, int],
    baked_size: tuple[int, int] | None = None,
    *,
    resized: bool = False,
    stretch: bool = False,
) -> None:
    """``ValueError`` naming ``what`` (e.g. "the map of key 'a'") unless a map of ``map_size`` (h, w) may be laid
    over an image of ``image_size`` (H, W).

    With ``baked_size``, the (h, w) of the image the map was baked from (a store records it), the image must be that
    image: the same size; a transposed size is the EXIF orientation applied on one side only; the same aspect at
    another size is a re-crop or a resize, allowed only with ``resized=True`` (the dataset resizes the very image
    that was baked); another aspect only with ``stretch=True``. Without it, the map's own aspect must be the
    image's, unless ``stretch``."""
    h, w = image_size
    if baked_size is None:
        if not stretch and aspects_differ(tuple(map_size), (h, w)):
            raise ValueError(
                f"{what} is {map_size[0]}x{map_size[1]} (HxW) but its image is {h}x{w}: stretching it "
                "would misalign map and image. Pass stretch=True if the map covers the whole image (a map source "
                "that records no baked image size cannot be checked further), or give maps of the image's aspect"
            )
        return
    bh, bw = baked_size
    if (bh, bw) == (h, w) or stretch:
        return
    if (bh, bw) == (w, h):
        raise ValueError(
            f"{what} was baked from a {bh}x{bw} (HxW) image but the dataset loads it as {h}x{w}: "
            "the image is rotated between bake and training, most likely by its EXIF orientation (OpenCV "
            "applies it, PIL's ImageFolder loader does not). Read images the same way on both sides "
            "(primary_mask.data.read_rgb), or strip the EXIF orientation from the files and rebake"
        )
    if aspects_differ((bh, bw), (h, w)):
        raise ValueError(
            f"{what} was baked from a {bh}x{bw} (HxW) image but the dataset gives a {h}x{w} image "
            "of another aspect: the dataset crops or pads before the wrapper, or the file changed since the "
            "bake. Move crops into the wrapper's transform (after the map is attached), or pass stretch=True "
            "if the map really covers the whole image"
        )
    if not resized:
        raise ValueError(
            f"{what} was baked from a {bh}x{bw} (HxW) image but the dataset gives a {h}x{w} image: "
            "a re-cropped image has the same aspect too, and its map would lie on other content. If the dataset "
            "only resizes the image that was baked, pass resized=True; move crops into the wrapper's transform; "
            "or rebake from the images as the dataset loads them"
        )
