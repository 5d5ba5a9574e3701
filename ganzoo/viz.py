"""PNG pictures of what a run produced, drawn with Pillow alone: image grids, 2-D scatter plots and loss curves."""

from __future__ import annotations

import math
import os
from typing import Mapping, Optional, Sequence

import numpy as np
from PIL import Image, ImageDraw

from ganzoo.io import atomic_path

__all__ = ["image_grid", "save_image_grid", "save_scatter", "save_samples_picture", "save_curves", "scatter_window"]

_BACKGROUND = (255, 255, 255)
_AXES = (90, 90, 90)
_PALETTE = [(31, 119, 180), (214, 39, 40), (44, 160, 44), (255, 127, 14), (148, 103, 189), (140, 86, 75)]


def image_grid(images: np.ndarray, *, nrow: Optional[int] = None, min_cell: int = 48, pad: int = 2) -> Image.Image:
    """Tile ``(N, C, H, W)`` images in [-1, 1] into one picture; small images are enlarged (nearest) to ``min_cell``."""
    images = np.asarray(images, dtype=np.float32)
    n, c, h, w = images.shape
    nrow = nrow or max(1, int(math.ceil(math.sqrt(n))))
    ncol = int(math.ceil(n / nrow))
    pixels = ((np.clip(images, -1, 1) + 1) * 127.5).round().astype(np.uint8)
    if c == 1:
        pixels = np.repeat(pixels, 3, axis=1)
    scale = max(1, int(math.ceil(min_cell / max(h, w))))
    cell_h, cell_w = h * scale, w * scale
    canvas = np.full((ncol * (cell_h + pad) + pad, nrow * (cell_w + pad) + pad, 3), 255, dtype=np.uint8)
    for i in range(n):
        r, col = divmod(i, nrow)
        tile = pixels[i].transpose(1, 2, 0).repeat(scale, axis=0).repeat(scale, axis=1)
        y0, x0 = pad + r * (cell_h + pad), pad + col * (cell_w + pad)
        canvas[y0:y0 + cell_h, x0:x0 + cell_w] = tile
    return Image.fromarray(canvas)


def _save(img: Image.Image, path: str | os.PathLike) -> None:
    with atomic_path(path, suffix=".png") as tmp:
        img.save(tmp, format="PNG")


def save_image_grid(images: np.ndarray, path: str | os.PathLike, *, nrow: Optional[int] = None) -> None:
    _save(image_grid(images, nrow=nrow), path)


def scatter_window(value_range: tuple[float, float], margin: float = 0.15) -> tuple[float, float]:
    """The plotting window for 2-D data in ``value_range``: the range widened by ``margin`` of its width on each side."""
    lo, hi = value_range
    return lo - margin * (hi - lo), hi + margin * (hi - lo)


def save_scatter(fake: np.ndarray, path: str | os.PathLike, *, real: Optional[np.ndarray] = None,
                 bounds: Optional[tuple[float, float]] = None, size: int = 480, title: str = "") -> None:
    """2-D points: real (grey) under generated (blue), in a square window ``bounds`` (default: fits both)."""
    fake = np.asarray(fake, dtype=np.float64)[:, :2]
    both = fake if real is None else np.concatenate([fake, np.asarray(real, dtype=np.float64)[:, :2]])
    finite = both[np.isfinite(both).all(axis=1)]
    if bounds is None:
        lo, hi = (float(finite.min()), float(finite.max())) if len(finite) else (-1.0, 1.0)
        margin = 0.05 * (hi - lo or 1.0)
        bounds = (lo - margin, hi + margin)
    lo, hi = bounds
    img = Image.new("RGB", (size, size), _BACKGROUND)
    draw = ImageDraw.Draw(img)
    m = 24

    def to_px(p: np.ndarray) -> np.ndarray:
        return m + (p - lo) / (hi - lo) * (size - 2 * m)

    draw.rectangle([m, m, size - m, size - m], outline=_AXES)
    for pts, colour, r in ((real, (170, 170, 170), 1), (fake, _PALETTE[0], 1)):
        if pts is None:
            continue
        px = to_px(np.asarray(pts, dtype=np.float64)[:, :2])
        for x, y in px[np.isfinite(px).all(axis=1)]:
            draw.ellipse([x - r, size - y - r, x + r, size - y + r], fill=colour)
    draw.text((m, 4), title or f"generated (blue) vs real (grey), window [{lo:.2g}, {hi:.2g}]^2", fill=_AXES)
    _save(img, path)


def save_samples_picture(samples: np.ndarray, path: str | os.PathLike, kind: str, value_range: tuple[float, float], *,
                         nrow: Optional[int] = None, real: Optional[np.ndarray] = None, title: str = "") -> None:
    """Samples of a dataset of ``kind`` as a picture: images as a grid (``nrow`` to a row: one row per class for a
    conditional run), points as a scatter in the window of ``value_range``, over ``real`` points where given."""
    if kind == "images":
        save_image_grid(samples, path, nrow=nrow)
    else:
        save_scatter(samples, path, real=real, bounds=scatter_window(value_range), title=title)


def _axis_number(x: float) -> str:
    """Steps stay whole (20000, not 2e+04); minutes get three significant digits (43.1, not 43.0855)."""
    return f"{x:.0f}" if abs(x) >= 100 else f"{x:.3g}"


def save_curves(series: Mapping[str, tuple[Sequence[float], Sequence[float]]], path: str | os.PathLike, *,
                title: str = "", width: int = 640, height: int = 360) -> None:
    """Line plot of ``name -> (steps, values)`` with a legend and the value range on the axis."""
    img = Image.new("RGB", (width, height), _BACKGROUND)
    draw = ImageDraw.Draw(img)
    left, right, top, bottom = 56, 12, 24, 28
    xs = [x for s, _ in series.values() for x in s]
    ys = [y for _, v in series.values() for y in v if math.isfinite(y)]
    draw.rectangle([left, top, width - right, height - bottom], outline=_AXES)
    draw.text((left, 4), title, fill=_AXES)
    if xs and ys:
        x0, x1 = min(xs), max(xs) or 1
        y0, y1 = min(ys), max(ys)
        if y1 - y0 < 1e-12:
            y0, y1 = y0 - 1, y1 + 1
        x1 = x1 if x1 > x0 else x0 + 1

        def px(x: float, y: float) -> tuple[float, float]:
            return (left + (x - x0) / (x1 - x0) * (width - left - right),
                    height - bottom - (y - y0) / (y1 - y0) * (height - top - bottom))

        for i, (name, (steps, values)) in enumerate(series.items()):
            colour = _PALETTE[i % len(_PALETTE)]
            pts = [px(x, y) for x, y in zip(steps, values) if math.isfinite(y)]
            if len(pts) > 1:
                draw.line(pts, fill=colour, width=2)
            elif pts:  # one point (one validation so far): a dot, not an empty plot
                (x, y), r = pts[0], 3
                draw.ellipse([x - r, y - r, x + r, y + r], fill=colour)
            draw.text((left + 8, top + 4 + 12 * i), name, fill=colour)
        draw.text((4, top), f"{y1:.3g}", fill=_AXES)
        draw.text((4, height - bottom - 10), f"{y0:.3g}", fill=_AXES)
        draw.text((left, height - bottom + 4), _axis_number(x0), fill=_AXES)
        draw.text((width - right - 40, height - bottom + 4), _axis_number(x1), fill=_AXES)
    _save(img, path)
