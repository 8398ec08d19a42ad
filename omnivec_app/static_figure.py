"""A Plotly figure drawn again by matplotlib, for a PNG that needs no browser (Plotly's own image export,
kaleido, drives a Chrome build of its own). It reads what the app's figures use: scatter (2-D, WebGL, 3-D),
bar, heat map with cell text, subplots and a secondary y axis, log and reversed axes, rectangles, text and
arrows. A trace type outside that list is refused by name, never drawn wrong."""
from __future__ import annotations

import base64
import io
import json
import re

import numpy as np

COLORWAY = ("#636efa", "#EF553B", "#00cc96", "#ab63fa", "#FFA15A", "#19d3f3", "#FF6692", "#B6E880", "#FF97FF",
            "#FECB52")  # Plotly's default template
SCALES = {"viridis": "viridis", "rdbu": "RdBu", "blues": "Blues", "greys": "Greys", "reds": "Reds", "hot": "hot",
          "magma": "magma", "plasma": "plasma", "inferno": "inferno", "cividis": "cividis", "ylorrd": "YlOrRd"}
DRAWN = ("scatter", "scattergl", "scatter3d", "bar", "heatmap")
FONT = 8


def figure_dict(figure) -> dict:
    """A go.Figure, its JSON or its dict -> a plain dict with every typed array decoded to numpy."""
    if hasattr(figure, "to_json"):
        figure = figure.to_json()
    if isinstance(figure, str):
        figure = json.loads(figure)
    return _decode(figure)


def _decode(node):
    if isinstance(node, dict):
        if "bdata" in node and "dtype" in node:  # Plotly writes numpy arrays as base64 with their dtype
            array = np.frombuffer(base64.b64decode(node["bdata"]), dtype=node["dtype"])
            shape = node.get("shape")
            return array.reshape([int(s) for s in str(shape).split(",")]) if shape else array
        return {k: _decode(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_decode(v) for v in node]
    return node


def plain(text) -> str:
    """Plotly's HTML-ish text (<b>, <br>) as plain lines."""
    text = (text.get("text", "") if isinstance(text, dict) else text) or ""
    return re.sub(r"<[^>]+>", "", re.sub(r"<br\s*/?>", "\n", str(text)))


def colour(value, default=None):
    """A Plotly colour (hex, CSS name, rgb(), rgba()) as matplotlib takes it."""
    if value is None or (isinstance(value, str) and not value):
        return default
    if isinstance(value, str):
        found = re.fullmatch(r"rgba?\(([^)]*)\)", value.replace(" ", ""))
        if found:
            parts = [float(p) for p in found.group(1).split(",")]
            return (*[p / 255 for p in parts[:3]], parts[3] if len(parts) > 3 else 1.0)
    return value


def colour_map(scale):
    """A Plotly colorscale (a name, or [[position, colour], ...]) as a matplotlib colormap."""
    from matplotlib.colors import LinearSegmentedColormap

    if isinstance(scale, (list, tuple)) and scale:
        return LinearSegmentedColormap.from_list("plotly", [(float(p), colour(c)) for p, c in scale])
    return SCALES.get(str(scale or "viridis").lower(), "viridis")


def png_bytes(figure, dpi: int = 110) -> bytes:
    """The figure as PNG bytes."""
    import matplotlib.pyplot as plt

    drawn = to_matplotlib(figure)
    buffer = io.BytesIO()
    drawn.savefig(buffer, format="png", dpi=dpi, facecolor="white")
    plt.close(drawn)
    return buffer.getvalue()


def to_matplotlib(figure):
    """The figure as a matplotlib Figure of the same size, axes placed by the Plotly domains."""
    import matplotlib
    matplotlib.use("Agg")  # no display on a server
    import matplotlib.pyplot as plt

    spec = figure_dict(figure)
    layout, traces = spec.get("layout", {}), spec.get("data", [])
    unknown = sorted({t.get("type", "scatter") for t in traces} - set(DRAWN))
    if unknown:
        raise ValueError(f"no static drawing for Plotly trace type {', '.join(unknown)}; it draws {DRAWN}")
    width, height = float(layout.get("width") or 900), float(layout.get("height") or 450)
    drawn = plt.figure(figsize=(width / 100, height / 100))
    legend = layout.get("showlegend", True) is not False and \
        sum(t.get("showlegend", True) is not False and bool(t.get("name")) for t in traces) > 1
    scale = any(t.get("type") == "heatmap" and t.get("showscale", True) is not False for t in traces)
    area = _area(layout, width, height, legend, scale)
    canvas = _Canvas(drawn, layout, area)
    colorway = layout.get("template", {}).get("layout", {}).get("colorway") or COLORWAY
    slots = _bar_slots(traces, layout.get("barmode") == "group")
    for i, trace in enumerate(traces):
        _draw(canvas, trace, colour(colorway[i % len(colorway)]), slots.get(i, (0, 1)))
    canvas.finish()
    title = plain(layout.get("title"))
    if title:
        drawn.suptitle(title, fontsize=FONT + 2, y=1 - 0.25 * (1 - area[1] - area[3]))
    if legend:
        handles = [(h, lab) for ax in drawn.axes for h, lab in zip(*ax.get_legend_handles_labels())]
        unique = dict((lab, h) for h, lab in handles)
        drawn.legend(list(unique.values()), list(unique), loc="upper right", fontsize=FONT, frameon=False,
                     markerscale=1.5)
    return drawn


def _area(layout, width: float, height: float, legend: bool, scale: bool) -> tuple[float, float, float, float]:
    """The plotting area (left, bottom, width, height) in figure fractions, from the layout's margins."""
    margin = {"l": 60, "r": 20, "t": 50, "b": 45, **(layout.get("margin") or {})}
    extra = (150 if legend else 0) + (40 if scale else 0)  # the legend and a colour bar sit right of the plot
    left, right = max(margin["l"], 45) / width, (max(margin["r"], 15) + extra) / width
    top, bottom = max(margin["t"], 35) / height, max(margin["b"], 40) / height
    return left, bottom, max(0.1, 1 - left - right), max(0.1, 1 - top - bottom)


class _Canvas:
    """The matplotlib axes of each Plotly subplot (x axis, y axis or scene), made when first used."""

    def __init__(self, figure, layout: dict, area):
        self.figure, self.layout, self.area, self.axes, self.heat = figure, layout, area, {}, []

    def rect(self, x_domain, y_domain, pad: float = 0.0):
        left, bottom, width, height = self.area
        x0, x1 = x_domain
        y0, y1 = y_domain
        return [left + width * x0 + pad, bottom + height * y0 + pad, width * (x1 - x0) - 2 * pad,
                height * (y1 - y0) - 2 * pad]

    def paper(self, x: float, y: float) -> tuple[float, float]:
        left, bottom, width, height = self.area
        return left + width * x, bottom + height * y

    def cartesian(self, x_name: str = "x", y_name: str = "y"):
        key = (x_name, y_name)
        if key in self.axes:
            return self.axes[key]
        y_axis = self.layout.get(_axis_key(y_name), {})
        overlaid = y_axis.get("overlaying")
        if overlaid:  # a secondary y axis shares its x axis with the one it overlays
            ax = self.cartesian(x_name, overlaid).twinx()
        else:
            x_axis = self.layout.get(_axis_key(x_name), {})
            ax = self.figure.add_axes(self.rect(x_axis.get("domain", (0, 1)), y_axis.get("domain", (0, 1))))
        self.axes[key] = ax
        return ax

    def scene(self, name: str = "scene"):
        if name not in self.axes:
            domain = self.layout.get(name, {}).get("domain", {})
            self.axes[name] = self.figure.add_axes(self.rect(domain.get("x", (0, 1)), domain.get("y", (0, 1))),
                                                   projection="3d")
        return self.axes[name]

    def finish(self) -> None:
        """Axis titles, ranges, scales and visibility; then the shapes and annotations."""
        for shape in self.layout.get("shapes", []) or []:
            self._shape(shape)
        for note in self.layout.get("annotations", []) or []:
            self._annotation(note)
        for key, ax in self.axes.items():
            if isinstance(key, tuple):
                ax.autoscale_view()
                for name, setter in ((key[0], "x"), (key[1], "y")):
                    _style_axis(ax, setter, self.layout.get(_axis_key(name), {}))

    def _shape(self, shape: dict) -> None:
        from matplotlib.patches import Rectangle

        ax = self.cartesian(_ref(shape.get("xref", "x"), "x"), _ref(shape.get("yref", "y"), "y"))
        line = shape.get("line", {}) or {}
        x0, x1, y0, y1 = (float(shape.get(k, 0)) for k in ("x0", "x1", "y0", "y1"))
        if shape.get("type", "rect") == "rect":
            ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, facecolor=colour(shape.get("fillcolor"), "none"),
                                   edgecolor=colour(line.get("color"), "#444"), linewidth=0.8, zorder=0))
        else:
            ax.plot([x0, x1], [y0, y1], color=colour(line.get("color"), "#444"), linewidth=line.get("width", 1))

    def _annotation(self, note: dict) -> None:
        text, size = plain(note.get("text")), (note.get("font") or {}).get("size", FONT + 2) * 0.75
        if note.get("xref") == "paper" or note.get("yref") == "paper":
            x, y = self.paper(float(note.get("x", 0.5)), float(note.get("y", 0.5)))
            self.figure.text(x, y, text, ha="center", va="bottom", fontsize=size)
            return
        ax = self.cartesian(_ref(note.get("xref", "x"), "x"), _ref(note.get("yref", "y"), "y"))
        at = (note.get("x"), note.get("y"))
        if note.get("showarrow", True) is not False and note.get("axref", "pixel") != "pixel":
            ax.annotate(text, xy=at, xytext=(note.get("ax"), note.get("ay")), fontsize=size, ha="center",
                        arrowprops=dict(arrowstyle="->", color="#444", linewidth=0.8))
        else:
            ax.text(*at, text, ha="center", va="center", fontsize=size)


def _axis_key(name: str) -> str:
    """A trace's axis reference ("x", "y2") -> its layout key ("xaxis", "yaxis2")."""
    return f"{name[0]}axis{name[1:]}"


def _ref(ref: str, axis: str) -> str:
    """A shape's or annotation's axis reference; "paper" (the whole plotting area) on the first axes."""
    return axis if ref == "paper" else ref.replace(" domain", "")


def _style_axis(ax, which: str, axis: dict) -> None:
    title = plain(axis.get("title"))
    if title:
        getattr(ax, f"set_{which}label")(title, fontsize=FONT + 1)
    ax.tick_params(labelsize=FONT)
    if axis.get("type") == "log":
        getattr(ax, f"set_{which}scale")("log")
    bounds = axis.get("range")
    if bounds and None not in bounds:
        bounds = [10 ** float(b) for b in bounds] if axis.get("type") == "log" else [float(b) for b in bounds]
        getattr(ax, f"set_{which}lim")(*bounds)
    if axis.get("autorange") == "reversed":
        getattr(ax, f"invert_{which}axis")()
    if axis.get("visible") is False:
        getattr(ax, f"{which}axis").set_visible(False)
        for side in (("bottom", "top") if which == "x" else ("left", "right")):
            ax.spines[side].set_visible(False)


def _bar_slots(traces: list[dict], grouped: bool) -> dict[int, tuple[int, int]]:
    """Trace index -> (its place, how many) among the bar traces of its axes, side by side when grouped."""
    if not grouped:
        return {}
    axes = {}
    for i, trace in enumerate(traces):
        if trace.get("type") == "bar":
            axes.setdefault((trace.get("xaxis", "x"), trace.get("yaxis", "y")), []).append(i)
    return {i: (slot, len(members)) for members in axes.values() for slot, i in enumerate(members)}


def _draw(canvas: _Canvas, trace: dict, fallback, slot: tuple[int, int] = (0, 1)) -> None:
    kind = trace.get("type", "scatter")
    if kind == "scatter3d":
        _scatter(canvas.scene(trace.get("scene", "scene")), trace, fallback, three=True)
    elif kind == "heatmap":
        _heatmap(canvas, canvas.cartesian(trace.get("xaxis", "x"), trace.get("yaxis", "y")), trace)
    elif kind == "bar":
        _bar(canvas.cartesian(trace.get("xaxis", "x"), trace.get("yaxis", "y")), trace, fallback, slot)
    else:
        _scatter(canvas.cartesian(trace.get("xaxis", "x"), trace.get("yaxis", "y")), trace, fallback)


def _marker_colours(marker: dict, fallback):
    value = marker.get("color", fallback)
    if isinstance(value, (list, np.ndarray)) and len(value) and not isinstance(value[0], str):
        import matplotlib.pyplot as plt
        values = np.asarray(value, dtype=float)
        low, high = np.nanmin(values), np.nanmax(values)
        return plt.get_cmap(colour_map(marker.get("colorscale")))((values - low) / max(high - low, 1e-12))
    if isinstance(value, (list, np.ndarray)):
        return [colour(c) for c in value]
    return colour(value, fallback)


def _scatter(ax, trace: dict, fallback, three: bool = False) -> None:
    axes = [np.asarray(trace.get(a, []) if trace.get(a) is not None else []) for a in ("xyz" if three else "xy")]
    if not len(axes[0]):
        return
    mode, name = trace.get("mode", "markers"), plain(trace.get("name")) or None
    label = name if trace.get("showlegend", True) is not False else None
    marker, line = trace.get("marker", {}) or {}, trace.get("line", {}) or {}
    if "lines" in mode:
        ax.plot(*axes, color=colour(line.get("color"), fallback), linewidth=line.get("width", 1.5), label=label,
                **({"alpha": float(trace["opacity"])} if "opacity" in trace else {}))  # else the colour's own alpha
        label = None
    if "markers" in mode:
        size = np.asarray(marker.get("size", 6), dtype=float)
        edge = (marker.get("line", {}) or {}).get("color")
        ax.scatter(*axes, s=size ** 2 * 0.5, c=_marker_colours(marker, fallback), label=label,
                   alpha=float(marker.get("opacity", trace.get("opacity", 1))), linewidths=0.8 if edge else 0,
                   edgecolors=colour(edge, "none"))
    if "text" in mode and trace.get("text") is not None:
        for *at, text in zip(*axes, np.atleast_1d(trace["text"])):
            ax.text(*at, plain(text), fontsize=FONT - 1, ha="center", va="bottom")


def _bar(ax, trace: dict, fallback, slot: tuple[int, int]) -> None:
    """Bars at their categories (or numbers), the `slot`-th of a group side by side, with error bars."""
    flat = trace.get("orientation") == "h"
    keys = np.asarray(trace.get("y" if flat else "x", []))
    lengths = np.array([np.nan if v is None else v for v in trace.get("x" if flat else "y", [])], dtype=float)
    width = 0.8
    if keys.dtype.kind in "fiu":
        positions = keys.astype(float)
        if len(keys) > 1:  # numeric positions: bars as wide as their spacing allows
            width = 0.8 * float(np.min(np.diff(np.sort(positions))) or 1.0)
    else:
        positions = np.arange(len(keys), dtype=float)
        getattr(ax, "set_yticks" if flat else "set_xticks")(positions, [str(k) for k in keys])
    place, count = slot
    positions = positions + (place - (count - 1) / 2) * width / count
    error = trace.get("error_y" if not flat else "error_x") or {}
    spread = np.asarray(error.get("array"), dtype=float) if error.get("visible") and error.get("array") is not None \
        else None
    marker = trace.get("marker", {}) or {}
    style = dict(color=_marker_colours(marker, fallback), alpha=float(trace.get("opacity", 1)), capsize=2,
                 label=plain(trace.get("name")) if trace.get("showlegend", True) is not False else None)
    if flat:
        ax.barh(positions, lengths, height=width / count, xerr=spread, **style)
    else:
        ax.bar(positions, lengths, width=width / count, yerr=spread, **style)


def _heatmap(canvas: _Canvas, ax, trace: dict) -> None:
    z = np.array([[np.nan if v is None else v for v in row] for row in trace["z"]], dtype=float)  # (rows, cols)
    mesh = ax.pcolormesh(z, cmap=colour_map(trace.get("colorscale")), vmin=trace.get("zmin"), vmax=trace.get("zmax"))
    for name, count in (("x", z.shape[1]), ("y", z.shape[0])):
        labels = trace.get(name)
        ticks = np.arange(count) + 0.5
        getattr(ax, f"set_{name}ticks")(ticks)
        getattr(ax, f"set_{name}ticklabels")([str(v) for v in labels] if labels is not None else
                                             [str(i) for i in range(count)], rotation=45 if name == "x" else 0)
    text = trace.get("text")
    if text is not None and "text" in str(trace.get("texttemplate", "")):
        for (r, c), value in np.ndenumerate(np.asarray(text, dtype=object)):
            ax.text(c + 0.5, r + 0.5, str(value), ha="center", va="center", fontsize=FONT - 1, color="white")
    if trace.get("showscale", True) is not False:
        canvas.figure.colorbar(mesh, ax=ax, fraction=0.05, pad=0.02).ax.tick_params(labelsize=FONT)
