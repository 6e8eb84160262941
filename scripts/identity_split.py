"""Seed 002 split by fate: the identity sweep's final test MAE for ReLU
networks that were dead at initialisation, for those that were not, and for
the linear networks that started from the same weights.

The report averages over seeds; this groups by a *measured* value (the
output-zero fraction at epoch 0), which a sweep file's filters cannot do.

    python3 -m pip install polars      # once
    python3 scripts/identity_split.py [results/identity_dead_relu]
"""
import sys

import polars as pl

root = sys.argv[1] if len(sys.argv) > 1 else "results/identity_dead_relu"
runs = pl.read_parquet(f"{root}/runs.parquet").select("job_id", "seed", "axis.activation")
m = pl.read_parquet(f"{root}/metrics.parquet").join(runs, on="job_id")
test = m.filter(pl.col("split") == "test")
last = test["epoch"].max()
dead0 = test.filter((pl.col("metric") == "output_zero_fraction") & (pl.col("epoch") == 0))
relu_dead = dead0.filter(pl.col("axis.activation") == "relu").select(
    "seed", (pl.col("value") == 1.0).alias("relu_dead_at_init")
)
final = test.filter((pl.col("metric") == "mae") & (pl.col("epoch") == last)).join(relu_dead, on="seed")
print(
    final.group_by("axis.activation", "relu_dead_at_init")
    .agg(
        pl.len().alias("networks"),
        pl.col("value").mean().alias("mean_test_mae"),
        pl.col("value").median().alias("median_test_mae"),
    )
    .sort("axis.activation", "relu_dead_at_init", descending=[True, False])
)
