#!/usr/bin/env bash
# Builds actsweep with the real `cuda` feature, in release, on a machine with
# no CUDA toolkit and no GPU, and packs what a GPU run needs into gpu-pack/.
#
#   bash scripts/build-cuda.sh        (or `just build-cuda`)
#
# 1. CUDA 13.0 from pinned PyPI wheels, installed into a virtual environment
#    under .cuda/ (about 1.2 GB; reused on later runs). The wheels unpack into
#    one root, site-packages/nvidia/cu13 (bin/nvcc, include/cuda.h, lib/*.so.13).
# 2. A stub libcuda.so.1 to link against (the wheels have no driver library):
#    every driver function cudarc declares, each returning an error. At run
#    time the GPU machine's real driver is loaded instead.
# 3. A stand-in `nvidia-smi` (dfdx's build script asks it for the compute
#    capability before it reads CUDA_COMPUTE_CAP), on PATH for the build only.
# 4. `cargo build --release --features cuda`, then a check that the binary
#    needs exactly the shared libraries the GPU machine has (NEEDED below).
# 5. gpu-pack/: the stripped binary compressed with xz, MNIST's four files,
#    scripts/gpu-check.sh with its helpers and sweep files, and
#    run-on-gpu.sh, which unpacks and runs them there. At most 64 MiB in
#    all, or the script fails.
#
# Environment: CUDA_COMPUTE_CAP (default 90: H100/H200), CARGO_TARGET_DIR,
# ACTSWEEP_DATA (the folder holding mnist/), ACTSWEEP_CUDA_WORK (default .cuda).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

# --- Settings, in one place --------------------------------------------------

work=${ACTSWEEP_CUDA_WORK:-$root/.cuda}
pack=$root/gpu-pack
compute_cap=${CUDA_COMPUTE_CAP:-90}
max_pack_bytes=$((64 * 1024 * 1024))

# CUDA 13.0 (update 2), every wheel pinned. nvcc pulls in nvvm and crt
# unpinned, at versions whose PTX the 13.0 ptxas rejects, so they are pinned
# too; cccl is for the `<nv/target>` that dfdx's kernels include.
wheels=(
    nvidia-cuda-nvcc==13.0.88
    nvidia-cuda-crt==13.0.88
    nvidia-nvvm==13.0.88
    nvidia-cuda-cccl==13.0.85
    nvidia-cuda-runtime==13.0.96
    nvidia-cuda-nvrtc==13.0.88
    nvidia-cublas==13.1.0.3
    nvidia-curand==10.4.0.35
)

# The shared libraries the binary may need (readelf's NEEDED): the CUDA ones
# must all be there (the GPU machine has them: the driver's libcuda, and
# PyTorch's cuBLAS 13), the system ones may be.
needed_cuda=(libcuda.so.1 libcublas.so.13)
needed_system=(
    libc.so.6 libm.so.6 libgcc_s.so.1 libstdc++.so.6 libpthread.so.0
    libdl.so.2 librt.so.1 ld-linux-x86-64.so.2
)

say() { printf '\n== %s\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# --- 1. The CUDA wheels ------------------------------------------------------

venv=$work/venv
say "CUDA 13.0 wheels in $venv"
mkdir -p "$work"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
# Installs only what is missing or at another version (no download when all
# are there); --no-cache-dir keeps a second 1.2 GB copy out of ~/.cache/pip.
missing=$(comm -23 <(printf '%s\n' "${wheels[@]}" | sort) <("$venv/bin/pip" freeze 2>/dev/null | sort))
if [ -n "$missing" ]; then
    "$venv/bin/pip" install --quiet --no-cache-dir --disable-pip-version-check "${wheels[@]}"
fi
site=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
cu=$site/nvidia/cu13
[ -x "$cu/bin/nvcc" ] && [ -f "$cu/include/cuda.h" ] || die "no nvcc or cuda.h under $cu"
"$cu/bin/nvcc" --version | tail -n 1

# --- 2. The CUDA root that cudarc links against ------------------------------

# A root of our own, so that the wheels' folders stay as pip left them:
# include/ is the wheels', lib/ holds the stub libcuda and links to the
# wheels' libraries, by the unversioned names the linker looks for (-lcublas,
# -lcublasLt, -lnvrtc, -lcurand) and by their sonames (libcublas.so.13 needs
# libcublasLt.so.13).
cuda_root=$work/cuda-root
mkdir -p "$cuda_root/lib"
ln -sfn "$cu/include" "$cuda_root/include"
for lib in cublas.so.13 cublasLt.so.13 nvrtc.so.13 curand.so.10; do
    [ -f "$cu/lib/lib$lib" ] || die "no $cu/lib/lib$lib"
    ln -sfn "$cu/lib/lib$lib" "$cuda_root/lib/lib${lib%.so.*}.so"
    ln -sfn "$cu/lib/lib$lib" "$cuda_root/lib/lib$lib"
done

# The driver functions cudarc declares, from the cudarc in Cargo.lock.
cudarc_dir=$(cargo metadata --locked --format-version 1 --features cuda 2>/dev/null |
    python3 -c 'import json, os, sys
for p in json.load(sys.stdin)["packages"]:
    if p["name"] == "cudarc":
        print(os.path.dirname(p["manifest_path"]))')
driver_sys=$cudarc_dir/src/driver/sys.rs
[ -f "$driver_sys" ] || die "cannot find cudarc's driver declarations ($driver_sys)"
stub=$cuda_root/lib/libcuda.so.1
stub_id="$driver_sys (stub 2)"  # bump when the generator below changes
if [ ! -f "$stub" ] || [ "$(cat "$stub.source" 2>/dev/null)" != "$stub_id" ]; then
    say "Stub libcuda.so.1 from $driver_sys"
    # Each function returns CUDA_ERROR_UNKNOWN (999), as a driver with no GPU
    # would fail, except the two that name an error: cudarc's Debug of a
    # DriverError unwraps them, and a failing one aborts the process. So the
    # binary can also be run here against the stub (`device = "auto"` falls
    # back to the CPU, `"cuda"` fails the job); on a GPU machine the real
    # driver is loaded instead.
    grep -oE 'pub fn cu[A-Za-z0-9_]+' "$driver_sys" | sed 's/^pub fn //' | sort -u |
        awk 'BEGIN { print "/* Generated by scripts/build-cuda.sh: link-time stand-in for the CUDA driver. */" }
             /^cuGetError(String|Name)$/ {
                 printf "int %s(int error, const char **str) { (void)error; *str = \"no CUDA driver (stub libcuda.so.1)\"; return 0; }\n", $1
                 next
             }
             { printf "int %s(void) { return 999; }\n", $1 }' >"$cuda_root/libcuda-stub.c"
    cc -shared -fPIC -O0 -Wl,-soname,libcuda.so.1 -o "$stub" "$cuda_root/libcuda-stub.c"
    echo "$stub_id" >"$stub.source"
fi
ln -sfn libcuda.so.1 "$cuda_root/lib/libcuda.so"
echo "stub: $(grep -c '^int ' "$cuda_root/libcuda-stub.c") driver functions"

# --- 3. The stand-in nvidia-smi ----------------------------------------------

fake_bin=$work/fake-bin
mkdir -p "$fake_bin"
cap_dotted="${compute_cap%?}.${compute_cap: -1}"
cat >"$fake_bin/nvidia-smi" <<EOF
#!/bin/sh
# Stand-in for dfdx's build script (scripts/build-cuda.sh): the compute
# capability of the GPU the build is for, as \`nvidia-smi --query-gpu=compute_cap --format=csv\` prints it.
printf 'compute_cap\n$cap_dotted\n'
EOF
chmod +x "$fake_bin/nvidia-smi"

# --- 4. The build ------------------------------------------------------------

target_dir=$(cargo metadata --locked --no-deps --format-version 1 |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
bin=$target_dir/release/actsweep
say "cargo build --release --features cuda (sm_$compute_cap) into $target_dir"
started=$(date +%s)
# Only this root is looked at: CUDA_PATH and the rest would come before it.
env -u CUDA_PATH -u CUDA_TOOLKIT_ROOT_DIR -u CUDNN_LIB \
    PATH="$fake_bin:$cu/bin:$PATH" CUDA_ROOT="$cuda_root" CUDA_COMPUTE_CAP="$compute_cap" \
    nice -n 19 cargo build --release --locked --features cuda --bin actsweep
elapsed=$(($(date +%s) - started))
printf 'build: %dm %02ds\n' $((elapsed / 60)) $((elapsed % 60))

# --- 5. The libraries it needs -----------------------------------------------

say "Shared libraries of $bin"
mapfile -t needed < <(readelf -d "$bin" | sed -n 's/.*(NEEDED).*\[\(.*\)\]$/\1/p')
printf 'NEEDED: %s\n' "${needed[*]}"
bad=0
for lib in "${needed[@]}"; do
    case " ${needed_cuda[*]} ${needed_system[*]} " in
        *" $lib "*) ;;
        *) echo "error: needs $lib, which is not in the allowed set" >&2; bad=1 ;;
    esac
done
for lib in "${needed_cuda[@]}"; do
    case " ${needed[*]} " in
        *" $lib "*) ;;
        *) echo "error: does not need $lib: is this a CUDA build?" >&2; bad=1 ;;
    esac
done
if readelf -d "$bin" | grep -E '\((RPATH|RUNPATH)\)'; then
    echo "error: the binary carries a library search path of this machine" >&2
    bad=1
fi
# The newest glibc symbol version it needs: the GPU machine's glibc must be at
# least that (run-on-gpu.sh's `ldd -r` says so there when it is not).
echo "glibc: $(objdump -T "$bin" | grep -oE 'GLIBC_[0-9.]+' | sort -uV | tail -n 1) or newer"
# How they resolve here (libcuda.so.1 is the stub; on the GPU machine it is
# the driver's).
LD_LIBRARY_PATH="$cuda_root/lib:$cu/lib" ldd "$bin" | tee "$work/ldd.txt"
if grep -q 'not found' "$work/ldd.txt"; then bad=1; fi
[ "$bad" = 0 ] || die "the binary does not need exactly the allowed libraries"

# --- 6. The pack -------------------------------------------------------------

say "Pack in $pack"
rm -rf "$pack"
mkdir -p "$pack/data/mnist"
strip -o "$pack/actsweep" "$bin"
size_bin=$(stat -c %s "$bin")
size_stripped=$(stat -c %s "$pack/actsweep")
nice -n 19 xz -9 -T1 "$pack/actsweep"
size_xz=$(stat -c %s "$pack/actsweep.xz")
printf 'binary: %s bytes, stripped %s, xz %s\n' "$size_bin" "$size_stripped" "$size_xz"

# The CUDA symbols the binary takes from libcuda and libcublas, for a check
# against the real libraries there (run-on-gpu.sh runs `ldd -r`).
nm -D --undefined-only "$bin" | awk '{ print $2 }' | grep -E '^(cu|cublas)' >"$pack/cuda-symbols.txt" || true

mnist=""
for cand in "${ACTSWEEP_DATA:-}/mnist" "$root/../shared/data/mnist" "$root/data/mnist"; do
    if [ -f "$cand/train-images-idx3-ubyte.gz" ]; then mnist=$cand; break; fi
done
[ -n "$mnist" ] || die "no MNIST found (set ACTSWEEP_DATA to the folder holding mnist/)"
for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
    cp "$mnist/$f.gz" "$pack/data/mnist/"
done

# The GPU check, its helpers and the sweep files it runs (scripts/gpu-check.sh).
cp scripts/gpu-check.sh scripts/cuda_kernels.py scripts/compare_reports.py \
    scripts/torch_mnist_epoch.py experiments.toml "$pack/"
mkdir -p "$pack/sweeps"
cp sweeps/quick.toml "$pack/sweeps/"

cat >"$pack/run-on-gpu.sh" <<'EOF'
#!/usr/bin/env bash
# Made by scripts/build-cuda.sh. On the GPU machine, in this folder:
#
#   bash run-on-gpu.sh                   runs gpu-check.sh when packed, else
#                                        only checks that the binary loads
#   bash run-on-gpu.sh actsweep ARGS...  runs any command with the set-up below
#
# Checks the files, unpacks actsweep.xz, puts the CUDA 13 libraries of the
# machine's Python (PyTorch's site-packages/nvidia/*/lib, or PYTHON's) on
# LD_LIBRARY_PATH, checks with `ldd -r` that every library and symbol
# resolves, then runs with ACTSWEEP_DATA at the packed MNIST (data/mnist)
# and this folder first on PATH (ACTSWEEP_BIN names the binary).
set -euo pipefail
cd "$(dirname "$0")"
here=$PWD

sha256sum --quiet -c SHA256SUMS
if [ ! -x actsweep ]; then
    xz -dc actsweep.xz >actsweep.part
    chmod +x actsweep.part
    mv actsweep.part actsweep
fi

py=${PYTHON:-python3}
libdirs=$("$py" - <<'PY' 2>/dev/null || true
import glob, os
try:
    import nvidia
    roots = list(nvidia.__path__)
except ImportError:
    roots = []
print(":".join(sorted({d for r in roots for d in glob.glob(os.path.join(r, "*", "lib"))})))
PY
)
if [ -z "$libdirs" ]; then
    echo "warning: no site-packages/nvidia/*/lib found with $py; using the loader's default paths" >&2
fi
export LD_LIBRARY_PATH="${libdirs}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

if ldd -r ./actsweep 2>&1 | grep -E 'not found|undefined symbol'; then
    echo "error: actsweep does not load here (above); LD_LIBRARY_PATH=$LD_LIBRARY_PATH" >&2
    exit 1
fi
ldd ./actsweep | grep -E 'libcuda|libcublas'

export ACTSWEEP_DATA="$here/data"
export ACTSWEEP_BIN="$here/actsweep"
export PATH="$here:$PATH"
./actsweep --version
if [ $# -gt 0 ]; then
    exec "$@"
elif [ -f gpu-check.sh ]; then
    exec bash gpu-check.sh
else
    echo "no gpu-check.sh in this pack: nothing more to run"
fi
EOF
chmod +x "$pack/run-on-gpu.sh"

(cd "$pack" && find . -type f ! -name SHA256SUMS ! -name run-on-gpu.sh | sort | xargs sha256sum >SHA256SUMS)

size_pack=$(du -sb "$pack" | cut -f1)
echo
(cd "$pack" && find . -type f | sort | xargs ls -l)
printf 'pack: %s bytes (%.1f MiB; limit 64 MiB) in %s\n' "$size_pack" \
    "$(awk -v b="$size_pack" 'BEGIN { print b / 1048576 }')" "$pack"
[ "$size_pack" -le "$max_pack_bytes" ] || die "the pack is over 64 MiB"
