"""Reading images: one place that decodes files and names the file when it cannot.

The reading rule, shared by ``primary-mask bake`` and every dataset of this library: **pixels as stored, EXIF
orientation ignored.** That is what torchvision's ``ImageFolder`` (PIL's ``Image.open(...).convert("RGB")``, which
never rotates) and ``torchvision.io.decode_jpeg`` / ``decode_image`` (``apply_exif_orientation=False`` by
default) give, so a map baked here lies on the image a training loop loads. OpenCV's ``cv2.imread`` *does* apply
the EXIF orientation by default; ``read_rgb`` does not, so a JPEG tagged "rotate 90" reads as (H, W) = its stored
size, not the displayed one. :func:`exif_orientation` tells a caller when a file carries such a tag, so a size
mismatch can be reported with its likely cause.

Truncated files are errors, never half-decoded images: OpenCV decodes a JPEG that ends early (printing only
"Premature end of JPEG file", without the file name) into a partly grey image, so ``read_rgb`` first walks the
JPEG's marker segments and requires its end-of-image marker (bytes after it, such as a phone's trailer, are
allowed). A truncated PNG is refused by libpng itself. What then decodes is decoded by OpenCV with
``cv2.IMREAD_IGNORE_ORIENTATION`` (the same pixels PIL gives for a JPEG: both use libjpeg-turbo's defaults).
A JPEG whose structure is complete but whose compressed data is damaged decodes as libjpeg decodes it.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

__all__ = ["EXIF_TRANSPOSED", "exif_orientation", "jpeg_is_complete", "read_rgb"]

#: EXIF orientations (tag 0x0112) whose displayed image has width and height swapped against the stored pixels.
EXIF_TRANSPOSED = frozenset({5, 6, 7, 8})
_ORIENTATION_TAG = 0x0112
_JPEG_MAGIC = b"\xff\xd8\xff"


def jpeg_is_complete(data: bytes) -> bool:
    """Whether the JPEG bytes ``data`` (starting with SOI) reach their end-of-image marker: a walk over the marker
    segments, skipping each scan's entropy-coded data (where 0xFF is always followed by 0x00 or a restart
    marker). False for a file cut anywhere before its EOI marker."""
    n, i, in_scan = len(data), 2, False
    while i < n:
        if in_scan:  # entropy-coded data: up to the next marker that is not a stuffed 0xFF00 or RSTn
            j = data.find(b"\xff", i)
            if j < 0 or j + 1 >= n:
                return False
            m = data[j + 1]
            if m == 0x00 or 0xD0 <= m <= 0xD7:
                i = j + 2
                continue
            in_scan, i = False, j
            continue
        if data[i] != 0xFF:  # stray bytes between segments (libjpeg skips them with a warning)
            i = data.find(b"\xff", i)
            if i < 0:
                return False
        while i < n and data[i] == 0xFF:  # fill bytes
            i += 1
        if i >= n:
            return False
        m = data[i]
        i += 1
        if m == 0xD9:
            return True
        if 0xD0 <= m <= 0xD7 or m in (0x01, 0xD8):  # markers without a length
            continue
        if i + 2 > n:
            return False
        length = int.from_bytes(data[i : i + 2], "big")
        if length < 2:
            return False
        i += length
        in_scan = m == 0xDA
    return False


def read_rgb(path: str | Path) -> np.ndarray:
    """Decode ``path`` to an (H, W, 3) uint8 RGB array, pixels as stored (EXIF orientation ignored, as PIL and
    torchvision read them). Grayscale, palette, CMYK and RGBA files are converted to RGB (alpha dropped).

    ``ValueError`` naming the file when it is missing, empty, truncated, corrupt or not an image."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ValueError(f"{path}: does not exist") from None
    except OSError as e:
        raise ValueError(f"{path}: cannot be read ({e.strerror or e})") from None
    if not data:
        raise ValueError(f"{path}: is empty (0 bytes), not an image")
    if data[:3] == _JPEG_MAGIC and not jpeg_is_complete(data):
        raise ValueError(f"{path}: truncated or corrupt JPEG (no end-of-image marker); re-extract or drop this file")
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION)
    if img is None:
        raise ValueError(f"{path}: cannot be decoded as an image (truncated, corrupt or not an image file)")
    return np.ascontiguousarray(img[:, :, ::-1])


def exif_orientation(path: str | Path) -> int:
    """The EXIF orientation tag of ``path`` (1-8; 1, "as stored", when the file has none or is no image PIL
    reads). Reads the header only. Orientations in :data:`EXIF_TRANSPOSED` swap width and height for viewers
    (and ``cv2.imread``) that honour the tag; :func:`read_rgb` ignores it."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            value = im.getexif().get(_ORIENTATION_TAG, 1)
    except (OSError, UnidentifiedImageError, SyntaxError, ValueError):
        return 1
    return int(value) if isinstance(value, int) and 1 <= value <= 8 else 1
