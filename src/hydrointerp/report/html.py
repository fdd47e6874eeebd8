"""Small HTML helpers for the report: escaped tables, embedded figures, sections."""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np


def esc(value: object) -> str:
    """HTML-escaped text."""
    return html.escape(str(value))


def fmt(value: object, digits: int = 3) -> str:
    """A table cell: numbers rounded, NaN as an en dash."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "–"
        return f"{value:.{digits}g}" if abs(value) >= 1000 else f"{value:.{digits}f}"
    if isinstance(value, np.integer):
        return str(int(value))
    if isinstance(value, np.floating):
        return fmt(float(value), digits)
    return esc(value)


def table(header: Sequence[str], rows: Sequence[Sequence[object]], digits: int = 3) -> str:
    """An HTML table with a header row."""
    head = "".join(f"<th>{esc(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{fmt(c, digits)}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def figure(path: Path, caption: str, embed: bool = True, base: Path | None = None) -> str:
    """A ``<figure>`` with the PNG embedded as base64 (or linked relative to ``base``)."""
    if embed:
        data = base64.b64encode(path.read_bytes()).decode("ascii")
        src = f"data:image/png;base64,{data}"
    else:
        src = path.relative_to(base).as_posix() if base is not None else path.name
    return (
        f'<figure><img src="{src}" alt="{esc(path.stem)}">'
        f"<figcaption><b>{esc(path.name)}</b> — {esc(caption)}</figcaption></figure>"
    )


def section(anchor: str, title: str, body: str) -> str:
    """A report section with an anchor for the navigation bar."""
    return f'<section id="{esc(anchor)}"><h2>{esc(title)}</h2>\n{body}\n</section>'


def note(text: str, missing: bool = False) -> str:
    """A paragraph of explanatory (or missing-artefact) text."""
    cls = "missing" if missing else "note"
    return f'<p class="{cls}">{esc(text)}</p>'
