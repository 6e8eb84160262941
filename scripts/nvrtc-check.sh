#!/usr/bin/env bash
# Compiles every activation's generated CUDA kernels with NVRTC, here, with
# no GPU: the CUDA 13.0 NVRTC wheel runs on any x86-64 Linux machine.
#
#   bash scripts/nvrtc-check.sh [SWEEP_FILE]      (or `just nvrtc-check`)
#
# 1. NVRTC 13.0 (the pinned wheel build-cuda.sh installs too) into a virtual
#    environment under .cuda/nvrtc (about 250 MB; reused on later runs), or
#    the one build-cuda.sh made when it is there.
# 2. `actsweep activations [SWEEP_FILE] --cuda DIR`: the built-ins' kernels
#    and the sweep file's activations'.
# 3. scripts/cuda_kernels.py compile: each DIR/NAME.cu through
#    nvrtcCompileProgram for compute_90 (H100/H200) with the options its
#    second line names, then its kernels looked up in the PTX. Any error
#    prints NVRTC's log and fails the script.
#
# Environment: CUDA_COMPUTE_CAP (default 90), ACTSWEEP (the binary; default
# a release build made here), ACTSWEEP_CUDA_WORK (default .cuda).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work=${ACTSWEEP_CUDA_WORK:-$root/.cuda}
compute_cap=${CUDA_COMPUTE_CAP:-90}
nvrtc_wheel=nvidia-cuda-nvrtc==13.0.88

python=
for venv in "$work/venv" "$work/nvrtc"; do
    if [ -x "$venv/bin/python" ] && "$venv/bin/python" -m pip show nvidia-cuda-nvrtc >/dev/null 2>&1; then
        python=$venv/bin/python
        break
    fi
done
if [ -z "$python" ]; then
    echo "== installing $nvrtc_wheel into $work/nvrtc"
    python3 -m venv "$work/nvrtc"
    "$work/nvrtc/bin/python" -m pip install --quiet "$nvrtc_wheel"
    python=$work/nvrtc/bin/python
fi
# NVRTC loads its builtins library from its own folder at run time.
libdir=$("$python" -c 'import nvidia, os; print(os.path.join(nvidia.__path__[0], "cu13", "lib"))')
export LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

if [ -z "${ACTSWEEP:-}" ]; then
    cargo build --release --locked --quiet
    ACTSWEEP=${CARGO_TARGET_DIR:-target}/release/actsweep
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$ACTSWEEP" activations "$@" --cuda "$out/src" >/dev/null

"$python" scripts/cuda_kernels.py compile "$out/src" --arch "$compute_cap"
