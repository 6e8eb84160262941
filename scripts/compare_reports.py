#!/usr/bin/env python3
"""Compares the accuracy cells of two actsweep reports (REPORT.md) table by
table: the CPU and the CUDA run of the same sweep in the GPU check.

    python3 scripts/compare_reports.py A/REPORT.md B/REPORT.md [--points 1.0]

Every cell that reads `M% ± S` (a mean over seeds) in A is paired with the
cell at the same table, row and column in B; the two runs train with
different arithmetic (cuBLAS and CUDA's functions against the CPU kernels),
so they agree to training noise, not to the bit. The script prints the
largest difference and fails when one is above --points percentage points
or when the tables do not line up.
"""
import re
import sys

CELL = re.compile(r"^(-?\d+(?:\.\d+)?)%(?: ± \d+(?:\.\d+)?)?")


def tables(path):
    """[(title, [[cell, ...] per row])] of a Markdown report."""
    out, title, rows = [], None, None
    for line in open(path, encoding="utf-8"):
        line = line.rstrip("\n")
        if line.startswith("#"):
            title = line.lstrip("# ")
        elif line.startswith("|") and not line.startswith("| ---"):
            if rows is None:
                rows = []
                out.append((title, rows))
            rows.append([c.strip() for c in line.strip("|").split("|")])
        else:
            rows = None
    return out


def main(argv):
    points = 1.0
    if "--points" in argv:
        i = argv.index("--points")
        points = float(argv[i + 1])
        del argv[i:i + 2]
    if len(argv) != 2:
        sys.exit(__doc__)
    a, b = tables(argv[0]), tables(argv[1])
    if len(a) != len(b):
        sys.exit(f"error: {len(a)} tables in {argv[0]}, {len(b)} in {argv[1]}")
    worst, where, cells = 0.0, "", 0
    for (ta, ra), (_, rb) in zip(a, b):
        if len(ra) != len(rb):
            sys.exit(f"error: table {ta!r} has {len(ra)} rows in one report, {len(rb)} in the other")
        for row_a, row_b in zip(ra, rb):
            for col, (ca, cb) in enumerate(zip(row_a, row_b)):
                ma, mb = CELL.match(ca), CELL.match(cb)
                if not (ma and mb):
                    continue
                cells += 1
                d = abs(float(ma.group(1)) - float(mb.group(1)))
                if d > worst:
                    worst, where = d, f"{ta} / {row_a[0]} / column {col}: {ca} vs {cb}"
    print(f"{cells} accuracy cells compared; largest difference {worst:.2f} points ({where or 'none'})")
    if cells == 0:
        sys.exit("error: no accuracy cells to compare")
    if worst > points:
        sys.exit(f"error: a difference above {points} points")


if __name__ == "__main__":
    main(sys.argv[1:])
