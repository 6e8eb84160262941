#!/usr/bin/env bash
# The one GPU run, prepared and timed on the CPU machine (a GPU is lent only
# now and then, for minutes, with no Rust toolchain and no network there).
#
#   bash run-on-gpu.sh                   on the GPU machine, in the folder
#                                        `just build-cuda` packed (it runs this)
#   bash scripts/gpu-check.sh --cpu      here: every step that needs no GPU,
#                                        with the CPU in place of CUDA
#
# Steps, each timed, each writing under $OUT (default ./gpu-check-out), with
# a summary in $OUT/summary.md:
#   1. the device: nvidia-smi (GPU only);
#   2. the generated activation kernels: compiled with NVRTC (when NVRTC is
#      found) and, on the GPU, run against the CPU kernels' numbers
#      (cuda_kernels.py; tolerances there);
#   3. the quick sweep (sweeps/quick.toml) on the CPU and on CUDA, their
#      reports' accuracy cells compared within 1 point (compare_reports.py);
#      the CPU half compares the CPU report with itself;
#   4. stacked against unstacked training on CUDA, when the binary has
#      `run --stack` (skipped, and said, when it has not);
#   5. experiments.toml on CUDA, timed, cut off after $EXPERIMENTS_LIMIT s
#      (default 240; GPU only);
#   6. one MNIST epoch (5 layers, width 256, batch 64, ReLU, Adam) with
#      actsweep and with PyTorch (torch_mnist_epoch.py) on the same device,
#      and four seeds of it one after the other and as one stack of four.
#
# Environment: ACTSWEEP_BIN (default: target/release/actsweep, or the
# packed binary), ACTSWEEP_DATA (the folder holding mnist/), PYTHON (one
# with torch for step 6; default python3), OUT, EXPERIMENTS_LIMIT.
set -uo pipefail

mode=gpu
if [ "${1:-}" = --cpu ]; then mode=cpu; fi
here=$(cd "$(dirname "$0")" && pwd)
# In the pack the sweep files lie beside this script; in the repository
# they are one folder up.
if [ -f "$here/experiments.toml" ]; then root=$here; else root=$(cd "$here/.." && pwd); fi
bin=${ACTSWEEP_BIN:-$root/${CARGO_TARGET_DIR:-target}/release/actsweep}
py=${PYTHON:-python3}
out=${OUT:-$PWD/gpu-check-out}
limit=${EXPERIMENTS_LIMIT:-240}
device=cuda
if [ "$mode" = cpu ]; then device=cpu; fi
export ACTSWEEP_DATA=${ACTSWEEP_DATA:-$root/data}

mkdir -p "$out"
summary=$out/summary.md
failed=0
printf '# GPU check (%s half), %s\n\n' "$mode" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$summary"
note() { printf -- '- %s\n' "$*" | tee -a "$summary"; }

# Runs a named step, timing it; its output goes to $out/NAME.log.
step() {
    local name=$1
    shift
    local t0 t1 rc
    t0=$(date +%s.%N)
    "$@" >"$out/$name.log" 2>&1
    rc=$?
    t1=$(date +%s.%N)
    local secs
    secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
    if [ $rc -eq 0 ]; then
        note "$name: ok in $secs s ($(tail -n 1 "$out/$name.log"))"
    else
        failed=1
        note "$name: FAILED (exit $rc) after $secs s; last lines of $name.log:"
        tail -n 5 "$out/$name.log" | sed 's/^/      /' | tee -a "$summary"
    fi
    return $rc
}

# A copy of a sweep file named NAME that trains on DEVICE.
on_device() {
    local file=$1 name=$2 dev=$3
    sed -e "s/^name = .*/name = \"$name\"/" -e "/^\[defaults\]/a device = \"$dev\"" "$file"
}

[ -x "$bin" ] || { echo "error: no actsweep binary at $bin (set ACTSWEEP_BIN)" >&2; exit 2; }
note "binary: $bin ($("$bin" --version))"

# 1. The device.
if [ "$mode" = gpu ]; then
    step nvidia-smi nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv,noheader
else
    note "device: none (CPU half)"
fi

# 2. The generated kernels.
"$bin" activations --cuda "$out/kernels" --values "$out/values.csv" --range -20,20 --points 40001 >/dev/null
if "$py" -c 'import ctypes, sys, importlib.util; sys.path.insert(0, sys.argv[1]); import cuda_kernels; cuda_kernels.Nvrtc()' "$here" 2>/dev/null; then
    if [ "$mode" = gpu ]; then
        step kernels "$py" "$here/cuda_kernels.py" run "$out/kernels" "$out/values.csv"
    else
        step kernels "$py" "$here/cuda_kernels.py" compile "$out/kernels"
    fi
else
    note "kernels: skipped, no libnvrtc.so.13 for $py (just nvrtc-check installs one here)"
fi

# 3. The quick sweep on the CPU and on CUDA.
on_device "$root/sweeps/quick.toml" quick-cpu cpu >"$out/quick-cpu.toml"
step quick-cpu "$bin" run "$out/quick-cpu.toml" --out "$out/results" --no-bar
"$bin" report "$out/quick-cpu.toml" --out "$out/results" >/dev/null 2>&1
other=$out/results/quick-cpu/report/REPORT.md
if [ "$mode" = gpu ]; then
    on_device "$root/sweeps/quick.toml" quick-cuda cuda >"$out/quick-cuda.toml"
    step quick-cuda "$bin" run "$out/quick-cuda.toml" --out "$out/results" --no-bar
    "$bin" report "$out/quick-cuda.toml" --out "$out/results" >/dev/null 2>&1
    other=$out/results/quick-cuda/report/REPORT.md
fi
step quick-compare "$py" "$here/compare_reports.py" "$out/results/quick-cpu/report/REPORT.md" "$other"

# 4. Stacked against unstacked.
if "$bin" run --help | grep -q -- '--stack'; then
    on_device "$root/sweeps/quick.toml" quick-stacked "$device" >"$out/quick-stacked.toml"
    step quick-stacked "$bin" run "$out/quick-stacked.toml" --out "$out/results" --no-bar --stack 8
    "$bin" report "$out/quick-stacked.toml" --out "$out/results" >/dev/null 2>&1
    step stacked-compare "$py" "$here/compare_reports.py" "$other" "$out/results/quick-stacked/report/REPORT.md"
else
    note "stacked: skipped, this binary has no \`run --stack\`"
fi

# 5. experiments.toml on CUDA, timed.
if [ "$mode" = gpu ]; then
    on_device "$root/experiments.toml" experiments-cuda cuda >"$out/experiments-cuda.toml"
    step experiments-cuda timeout "$limit" "$bin" run "$out/experiments-cuda.toml" --out "$out/results" --no-bar
else
    note "experiments.toml on CUDA: GPU only"
fi

# 6. One MNIST epoch, actsweep and PyTorch on the same device.
cat >"$out/mnist-epoch.toml" <<EOF
name = "mnist-epoch"
[defaults]
device = "$device"
dataset = "mnist"
depth = 5
width = 256
activation = "relu"
init = "torch_default"
optimizer = { name = "adam", lr = 1e-3 }
batch_size = 64
epochs = 2
seeds = 1
[experiments.epoch]
[[tables]]
experiment = "epoch"
rows = "epoch"
value = "train_epoch_seconds"
EOF
step mnist-actsweep "$bin" run "$out/mnist-epoch.toml" --out "$out/results" --no-bar --jobs 1
"$bin" report "$out/mnist-epoch.toml" --out "$out/results" >/dev/null 2>&1 &&
    grep -E '^\| [12] \|' "$out/results/mnist-epoch/report/REPORT.md" | sed 's/^/      actsweep epoch /' | tee -a "$summary"
# The same network, four seeds, stacked and one after the other.
sed -e 's/^name = .*/name = "mnist-seeds"/' -e 's/^epochs = 2$/epochs = 1/' -e 's/^seeds = 1$/seeds = 4/' \
    "$out/mnist-epoch.toml" >"$out/mnist-seeds.toml"
step mnist-unstacked "$bin" run "$out/mnist-seeds.toml" --out "$out/results-unstacked" --no-bar --jobs 1
step mnist-stacked "$bin" run "$out/mnist-seeds.toml" --out "$out/results-stacked" --no-bar --jobs 1 --stack 4
if "$py" -c 'import torch' 2>/dev/null; then
    step mnist-torch "$py" "$here/torch_mnist_epoch.py" --device "$device" --epochs 2
    grep '^epoch' "$out/mnist-torch.log" | sed 's/^/      PyTorch /' | tee -a "$summary"
else
    note "mnist-torch: skipped, no torch for $py"
fi

note "done: $([ $failed -eq 0 ] && echo 'every step passed' || echo 'some steps FAILED')"
exit $failed
