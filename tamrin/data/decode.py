"""Decode one image file to a uint8 array of the requested mode and size (Pillow only).

Handles what real folders contain: 16-bit greyscale PNGs (scaled, not clipped, to 8 bits), palette
images (with or without transparency), alpha channels (dropped), CMYK JPEGs, animated GIFs (first frame).

Huge images: a file whose header declares more than PIL.Image.MAX_IMAGE_PIXELS pixels (Pillow's default,
89,478,485 = about 9459 x 9459) is refused before any pixel is decoded, so a "decompression bomb" (a few
KB that would expand to gigabytes) costs nothing. Pillow itself only warns between 1x and 2x that limit;
we refuse from 1x, and the caller lists the file as skipped. Big JPEGs are measured after Pillow's cheap
DCT downscale (draft), so a 12000 x 9000 photo loaded at a small size still works.
"""
from __future__ import annotations

import warnings

import numpy as np

__all__ = ["decode_image"]

_SIXTEEN_BIT = {"I;16", "I;16B", "I;16L", "I;16N", "I"}


def _to_8bit(img):
    """Map Pillow's integer modes to 8-bit "L": Pillow's own conversion clips 16-bit values at 255."""
    from PIL import Image

    a = np.asarray(img)
    # "I" can hold any int32, but from a PNG/TIFF it is 16-bit data; scale by the 16-bit range
    a = np.clip(a.astype(np.float64) / 257.0, 0, 255)
    return Image.fromarray(np.round(a).astype(np.uint8), "L")


def decode_image(path, size: tuple[int, int] | None = None, mode: str | None = None) -> np.ndarray:
    """(H, W, C) uint8 for the image at `path`; C = 1 for mode "L", 3 for "RGB", natural when mode is None.

    Raises whatever Pillow raises for a corrupt, truncated or non-image file (the caller skips it).
    """
    from PIL import Image

    with warnings.catch_warnings():
        # Pillow warns between 1x and 2x the limit (and raises above 2x); we decide below, after draft
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        img = Image.open(path)
    with img:
        if size is not None and img.format == "JPEG" and img.size[0] >= 2 * size[1] and img.size[1] >= 2 * size[0]:
            img.draft("RGB" if mode != "L" else "L", (size[1], size[0]))  # cheap DCT downscale of big JPEGs
        limit = Image.MAX_IMAGE_PIXELS
        if limit and img.size[0] * img.size[1] > limit:  # measured after draft (which shrinks big JPEGs)
            raise ValueError(f"image of {img.size[0]}x{img.size[1]} pixels is over the {limit:,}-pixel limit "
                             f"(PIL.Image.MAX_IMAGE_PIXELS; possible decompression bomb)")
        img.load()  # forces the full decode, so truncated files fail here and not later
        if img.mode in _SIXTEEN_BIT or img.mode == "F":
            img = _to_8bit(img) if img.mode != "F" else Image.fromarray(
                np.clip(np.asarray(img), 0, 255).astype(np.uint8), "L")
        elif img.mode == "P":
            img = img.convert("RGBA" if "transparency" in img.info else "RGB")
        natural = "L" if img.mode in ("1", "L", "LA") else "RGB"
        target = mode or natural
        if img.mode != target:
            img = img.convert(target)
        if size is not None and img.size != (size[1], size[0]):
            img = img.resize((size[1], size[0]), Image.Resampling.BILINEAR)
        a = np.asarray(img, dtype=np.uint8)
    return a.reshape(a.shape[0], a.shape[1], 1 if target == "L" else 3)
