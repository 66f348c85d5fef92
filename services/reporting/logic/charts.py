"""Report charts as PNG bytes (matplotlib, Agg), German labels, fixed pixel size per chart type.

Pure: no files, no global pyplot state. Each function builds a ``matplotlib.figure.Figure`` on an Agg
canvas inside the call (matplotlib is imported lazily, so importing this module is cheap), and returns
the PNG. The size in pixels is fixed (``SIZE`` below) whatever the data, so the layout of HTML/PDF
reports does not move. Embed in HTML with :func:`png_data_uri`.

Charts for statistical data take *display* values from :mod:`suppression` (``"<3"``/``"x"`` are drawn
as a note, never as a bar), so a chart can never show more than its table.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import Any

DPI = 100
# (width, height) in inches at DPI → pixels: caseload 900×450, waitlist 900×380, destinations 900×480
SIZE = {
    "caseload": (9.0, 4.5),
    "waitlist": (9.0, 3.8),
    "destinations": (9.0, 4.8),
}
TARGET_PER_FTE = 40

_BLUE = "#1f4e79"
_LIGHT = "#9dc3e6"
_RED = "#c00000"
_GREY = "#7f7f7f"
_RC: Any = {  # rcParams (typed Any: matplotlib types the keys as literals)
    "font.family": "DejaVu Sans",  # ships with matplotlib: identical output everywhere (Lambda included)
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 11,
    "axes.titleweight": "bold",
    "svg.hashsalt": "avdual",
}


def _de(x: float, digits: int = 0) -> str:
    """German number format: 1.234 / 38,5."""
    s = f"{x:,.{digits}f}"
    return s.replace(",", "\u2009").replace(".", ",").replace("\u2009", ".")


def _figure(kind: str) -> tuple[Any, Any]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # Agg chosen here, not at import
    from matplotlib.figure import Figure

    fig = Figure(figsize=SIZE[kind], dpi=DPI)
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot(1, 1, 1)


def _png(fig: Any) -> bytes:
    buf = io.BytesIO()
    # no bbox_inches="tight": it would make the pixel size depend on the labels
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    return buf.getvalue()


def _empty(ax: Any, text: str = "Keine Daten vorhanden") -> None:
    ax.set_xticks([])
    ax.set_yticks([])
    for side in ("left", "bottom"):
        ax.spines[side].set_visible(False)
    ax.text(0.5, 0.5, text, ha="center", va="center", color=_GREY, fontsize=11, transform=ax.transAxes)


def caseload_chart(companions: Sequence[Mapping[str, Any]], *, target: float = TARGET_PER_FTE) -> bytes:
    """Bars: assigned students per companion; a black tick marks each one's capacity; a dashed line marks
    the target caseload (40 per full-time companion). Rows: ``{"label", "assigned", "capacity"}``
    (``capacity`` may be None). Bars at or above capacity are red."""
    import matplotlib
    from matplotlib import ticker

    with matplotlib.rc_context(_RC):
        fig, ax = _figure("caseload")
        fig.suptitle(
            "Fallzahl je AV dual-Begleiter/in im Vergleich zur Kapazität",
            x=0.07,
            ha="left",
            fontsize=11,
            fontweight="bold",
        )
        if not companions:
            _empty(ax)
            return _png(fig)
        labels = [str(c["label"]) for c in companions]
        assigned = [int(c.get("assigned") or 0) for c in companions]
        capacity = [c.get("capacity") for c in companions]
        xs = range(len(labels))
        colors = [_RED if cap and a >= cap else _BLUE for a, cap in zip(assigned, capacity, strict=True)]
        bars = ax.bar(xs, assigned, color=colors, width=0.6, label="zugeordnete Schüler/innen", zorder=2)
        cap_x = [x for x, c in zip(xs, capacity, strict=True) if c]
        cap_y = [c for c in capacity if c]
        top = max([*assigned, *cap_y, target]) * 1.12
        for bar, a in zip(bars, assigned, strict=True):
            inside = a >= top * 0.12
            ax.annotate(
                _de(a),
                (bar.get_x() + bar.get_width() / 2, a),
                xytext=(0, -4 if inside else 3),
                textcoords="offset points",
                ha="center",
                va="top" if inside else "bottom",
                fontsize=8,
                color="white" if inside else "black",
                fontweight="bold",
                zorder=4,
            )
        if cap_x:
            ax.scatter(
                cap_x, cap_y, marker="_", s=1000, linewidths=2.5, color="black", zorder=3, label="Kapazität"
            )
        ax.axhline(
            target,
            color=_RED,
            linestyle="--",
            linewidth=1.2,
            zorder=1,
            label=f"Zielwert {_de(target)} je Vollzeitstelle",
        )
        ax.set_ylim(0, top)
        ax.set_xticks(
            list(xs),
            labels,
            rotation=30 if len(labels) > 6 else 0,
            ha="right" if len(labels) > 6 else "center",
        )
        ax.set_ylabel("Schüler/innen")
        ax.yaxis.grid(True, color="#e0e0e0", zorder=0)
        ax.yaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: _de(v)))
        ax.legend(
            loc="lower right",
            bbox_to_anchor=(1.0, 1.0),
            frameon=False,
            fontsize=8,
            ncols=3,
            markerscale=0.5,
            borderaxespad=0.2,
        )
        fig.subplots_adjust(left=0.07, right=0.98, top=0.84, bottom=0.2)
        return _png(fig)


def waitlist_trend_chart(points: Sequence[tuple[date, int]]) -> bytes:
    """Line: number of students on the waitlist per date (office-internal, not suppressed)."""
    import matplotlib
    import matplotlib.dates as mdates
    from matplotlib import ticker

    with matplotlib.rc_context(_RC):
        fig, ax = _figure("waitlist")
        ax.set_title("Entwicklung der Warteliste", loc="left")
        if not points:
            _empty(ax)
            return _png(fig)
        pts = sorted(points)
        xs = [d for d, _ in pts]
        ys = [int(n) for _, n in pts]
        ax.plot(xs, ys, color=_BLUE, marker="o", markersize=4, linewidth=1.8)
        ax.fill_between(xs, ys, color=_LIGHT, alpha=0.35, linewidth=0)
        ax.annotate(_de(ys[-1]), (xs[-1], ys[-1]), xytext=(4, 4), textcoords="offset points", fontsize=8)
        ax.set_ylim(0, max(max(ys) * 1.2, 5))
        ax.set_ylabel("Schüler/innen auf der Warteliste")
        ax.yaxis.set_major_locator(ticker.MaxNLocator(integer=True))
        ax.yaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: _de(v)))
        ax.yaxis.grid(True, color="#e0e0e0")
        span = (xs[-1] - xs[0]).days
        ax.set_xlim(
            xs[0] - timedelta(days=max(1, round(span * 0.03))),
            xs[-1] + timedelta(days=max(1, round(span * 0.05))),
        )
        if len(xs) <= 12:
            ax.set_xticks(xs)
        else:
            ax.xaxis.set_major_locator(mdates.AutoDateLocator(minticks=3, maxticks=10))
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%d.%m.%y"))
        fig.subplots_adjust(left=0.08, right=0.97, top=0.86, bottom=0.12)
        return _png(fig)


def destination_chart(items: Sequence[tuple[str, int | str]], total: int | str | None = None) -> bytes:
    """Horizontal bars: destinations (Verbleib) with their share of all exits in per cent.

    ``items``: ``(label, display value)`` from a suppressed table; ``total``: the published total (if
    omitted and nothing is withheld, the sum of the items). A withheld value gets no bar, only its marker.
    Without a known total the bars show counts instead of shares."""
    import matplotlib
    from matplotlib import ticker

    with matplotlib.rc_context(_RC):
        fig, ax = _figure("destinations")
        ax.set_title("Verbleib nach Austritt (Anteil an allen Austritten)", loc="left")
        if not items:
            _empty(ax)
            return _png(fig)
        withheld = any(isinstance(v, str) for _, v in items)
        if total is None and not withheld:
            total = sum(int(v) for _, v in items)
        as_share = isinstance(total, int) and total > 0
        labels = [label for label, _ in items][::-1]
        values = [v for _, v in items][::-1]
        widths = [
            (100 * v / total if as_share else v) if isinstance(v, int) else 0  # type: ignore[operator]
            for v in values
        ]
        ys = range(len(labels))
        ax.barh(ys, widths, color=_BLUE, height=0.6, zorder=2)
        top = max([*widths, 1]) * 1.25
        for y, v, w in zip(ys, values, widths, strict=True):
            if isinstance(v, str):
                text = f"{v} (geheimgehalten)"
            elif as_share:
                text = f"{_de(w, 1)} % ({_de(v)})"
            else:
                text = _de(v)
            ax.text(w + top * 0.01, y, text, va="center", fontsize=8)
        ax.set_yticks(list(ys), labels)
        ax.set_xlim(0, top)
        ax.set_xlabel("Anteil in %" if as_share else "Anzahl")
        ax.xaxis.grid(True, color="#e0e0e0", zorder=0)
        ax.xaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: _de(v)))
        fig.subplots_adjust(left=0.3, right=0.97, top=0.9, bottom=0.11)
        return _png(fig)


def png_data_uri(png: bytes) -> str:
    """``data:image/png;base64,...`` for ``<img src>`` in HTML (self-contained email and PDF)."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def png_size(png: bytes) -> tuple[int, int]:
    """(width, height) in pixels, read from the PNG header."""
    if png[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
