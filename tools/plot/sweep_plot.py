#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Plots of a sweep's results (docs/EXPERIMENTS.md, "Sweeps"): reads DIR/results.json as `mmusim sweep`
writes it and draws each plot the sweep file asks for into DIR/plots/NAME.png and NAME.svg.

A plot has an x axis (a sweep axis), one row of panels per figure in `y`, one panel column per value of
`panels` (an axis or "variant"), and one line per combination of the remaining axes and variants (`lines`
names the dimension listed first in the legend). Failed points and points without the figure are left out.

    python3 tools/plot/sweep_plot.py DIR
"""
import json
import os
import re
import sys

SIZE = re.compile(r"^([0-9]+)([KMGT]?)$", re.IGNORECASE)
UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def number(text):
    """A sweep value as a number for the x axis (4K -> 4096), or None."""
    m = SIZE.match(str(text))
    if m:
        return int(m.group(1)) * UNITS[m.group(2).upper()]
    try:
        return float(text)
    except ValueError:
        return None


def dim_value(row, dim):
    return row["variant"] if dim == "variant" else row["axes"].get(dim, "")


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: sweep_plot.py DIR")
    out_dir = sys.argv[1]
    with open(os.path.join(out_dir, "results.json")) as f:
        results = json.load(f)
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        sys.exit("sweep_plot.py: python3-matplotlib is not installed (apt-get install python3-matplotlib)")

    rows = [r for r in results["rows"] if r["status"] == "ok"]
    axes_keys = [a["key"] for a in results["axes"]]
    variants = sorted({r["variant"] for r in rows})
    dims = axes_keys + (["variant"] if len(variants) > 1 else [])
    os.makedirs(os.path.join(out_dir, "plots"), exist_ok=True)
    for plot in results["plots"]:
        x = plot["x"]
        panel_dim = plot["panels"] or None
        line_dims = [d for d in dims if d not in (x, panel_dim)]
        if plot["lines"] and plot["lines"] in line_dims:
            line_dims.remove(plot["lines"])
            line_dims.insert(0, plot["lines"])
        panel_values = []
        for r in rows:
            v = dim_value(r, panel_dim) if panel_dim else ""
            if v not in panel_values:
                panel_values.append(v)
        if not panel_values:
            print(f"sweep_plot.py: {plot['name']}: no point ran; nothing to plot", file=sys.stderr)
            continue
        ys = plot["y"]
        fig, grid = plt.subplots(len(ys), len(panel_values), squeeze=False,
                                 figsize=(4.8 * len(panel_values), 3.6 * len(ys)))
        for yi, y in enumerate(ys):
            for pi, pv in enumerate(panel_values):
                ax = grid[yi][pi]
                lines = {}
                for r in rows:
                    if panel_dim and dim_value(r, panel_dim) != pv:
                        continue
                    if y not in r["figures"]:
                        continue
                    key = tuple(dim_value(r, d) for d in line_dims)
                    lines.setdefault(key, []).append((r["axes"][x], r["figures"][y]))
                categorical = any(number(v) is None for pts in lines.values() for v, _ in pts)
                order = []
                for pts in lines.values():
                    for v, _ in pts:
                        if v not in order:
                            order.append(v)
                def line_order(item):  # numbers (4K, 64) by value, then names
                    return tuple((0, number(v), "") if number(v) is not None else (1, 0, str(v)) for v in item[0])
                for key, pts in sorted(lines.items(), key=line_order):
                    if categorical:
                        pts = sorted(pts, key=lambda p: order.index(p[0]))
                        xs = [order.index(v) for v, _ in pts]
                    else:
                        pts = sorted(pts, key=lambda p: number(p[0]))
                        xs = [number(v) for v, _ in pts]
                    label = ", ".join(f"{d}={v}" for d, v in zip(line_dims, key)) or None
                    ax.plot(xs, [v for _, v in pts], marker="o", label=label)
                if categorical:
                    ax.set_xticks(range(len(order)))
                    ax.set_xticklabels(order)
                elif plot["logx"]:
                    ax.set_xscale("log", base=2)
                if plot["logy"]:
                    ax.set_yscale("log")
                ax.set_xlabel(x)
                ax.set_ylabel(y)
                if panel_dim:
                    ax.set_title(f"{panel_dim}={pv}", fontsize=10)
                ax.grid(True, alpha=0.3)
                if any(k for k in lines):
                    ax.legend(fontsize=7)
        fig.suptitle(f"{results['name']}: {plot['name']}")
        fig.tight_layout()
        for ext in ("png", "svg"):
            fig.savefig(os.path.join(out_dir, "plots", f"{plot['name']}.{ext}"), dpi=110)
        plt.close(fig)
        print(f"sweep_plot.py: wrote plots/{plot['name']}.png and .svg", file=sys.stderr)


if __name__ == "__main__":
    main()
