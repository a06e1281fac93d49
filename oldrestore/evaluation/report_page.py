"""An HTML page to look at instead of read: one row per photo, its thumbnails side by side (e.g.
restored | reference | mask overlay) and its scores, sorted by one score, worst first."""

import html
import math
from pathlib import Path

import numpy as np
from PIL import Image

THUMBNAIL_SIDE = 192


def write_thumbnail(image: np.ndarray, path: Path) -> None:
    """A JPEG of the RGB uint8 image with its longer side at most THUMBNAIL_SIDE."""
    thumbnail = Image.fromarray(image)
    thumbnail.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE), Image.Resampling.BICUBIC)
    path.parent.mkdir(parents=True, exist_ok=True)
    thumbnail.save(path, format="JPEG", quality=85)


def _cell(value) -> str:
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.4g}"
    return html.escape(str(value))


def write_page(path: Path, title: str, rows: list[dict], columns: list[str],
               sort_by: str, worst_is_high: bool, note: str = "") -> None:
    """rows: {"name", "thumbnails": {label: path relative to the page}, and a value per column}.
    Rows without a `sort_by` value go last."""
    def key(row):
        value = row.get(sort_by, math.nan)
        return (math.isnan(value), -value if worst_is_high else value)

    labels = list(dict.fromkeys(label for row in rows for label in row["thumbnails"]))
    header = "".join(f"<th>{html.escape(c)}</th>" for c in ["name", *labels, *columns])
    body = []
    for row in sorted(rows, key=key):
        images = "".join(
            f'<td><img src="{html.escape(row["thumbnails"][label])}" loading="lazy"></td>'
            if label in row["thumbnails"] else "<td></td>" for label in labels)
        scores = "".join(f"<td>{_cell(row.get(c, math.nan))}</td>" for c in columns)
        body.append(f"<tr><td>{html.escape(row['name'])}</td>{images}{scores}</tr>")
    order = "highest" if worst_is_high else "lowest"
    path.write_text(
        f"<!doctype html><meta charset=utf-8><title>{html.escape(title)}</title>\n"
        "<style>body{font-family:sans-serif}td,th{padding:4px;text-align:left;"
        "vertical-align:top}tr:nth-child(even){background:#f3f3f3}</style>\n"
        f"<h1>{html.escape(title)}</h1>\n<p>{html.escape(note)} Sorted by {html.escape(sort_by)}, "
        f"{order} (worst) first.</p>\n<table><tr>{header}</tr>\n" + "\n".join(body)
        + "\n</table>\n")
