#!/usr/bin/env python3
"""Compiles actsweep's generated activation kernels with NVRTC and, on a GPU,
runs them against the CPU kernels' numbers.

    cuda_kernels.py compile DIR [--arch 90]
        every DIR/NAME.cu (from `actsweep activations --cuda DIR`) through
        NVRTC for sm_ARCH with the options its second line names; checks
        that the three kernels are in the PTX. Needs libnvrtc.so.13 only,
        no GPU.
    cuda_kernels.py run DIR VALUES.csv [--arch 90]
        compiles as above, then loads each module with the CUDA driver,
        runs actsweep_all_kernel at the inputs of VALUES.csv (from
        `actsweep activations --values VALUES.csv`, parameters at their
        defaults) and compares value, d/dx and each d/dP with the CPU
        kernels' within REL of the value plus ABS of the output's largest
        magnitude (the tolerances of tests/activation_cuda_source.rs).

libnvrtc and libcuda are found in the Python's site-packages/nvidia/*/lib
(as PyTorch's CUDA 13 wheels install them), on LD_LIBRARY_PATH, or by the
loader. Standard library only: ctypes, csv.
"""

import csv
import ctypes
import glob
import math
import os
import pathlib
import re
import struct
import sys

REL, ABS = 1e-6, 5e-8
ENTRIES = ["actsweep_value_kernel", "actsweep_value_dx_kernel", "actsweep_all_kernel"]


def load(name):
    """A CUDA library by soname, from the nvidia wheels when they are there."""
    try:
        import nvidia  # noqa: PLC0415

        for root in nvidia.__path__:
            for path in sorted(glob.glob(os.path.join(root, "*", "lib", name))):
                return ctypes.CDLL(path)
    except ImportError:
        pass
    return ctypes.CDLL(name)


class Nvrtc:
    def __init__(self):
        self.lib = load("libnvrtc.so.13")
        # NVRTC dlopens its builtins by soname at compile time; loaded here
        # first from the same folder, they are found whatever the loader's path.
        try:
            folder = os.path.dirname(self.lib._name)
            for path in glob.glob(os.path.join(folder, "libnvrtc-builtins.so.*")):
                if ".alt." not in path:
                    ctypes.CDLL(path, mode=ctypes.RTLD_GLOBAL)
        except OSError:
            pass
        self.lib.nvrtcGetErrorString.restype = ctypes.c_char_p

    def check(self, code, what, prog=None):
        if code == 0:
            return
        log = ""
        if prog is not None:
            n = ctypes.c_size_t()
            self.lib.nvrtcGetProgramLogSize(prog, ctypes.byref(n))
            buf = ctypes.create_string_buffer(n.value)
            self.lib.nvrtcGetProgramLog(prog, buf)
            log = buf.value.decode()
        sys.exit(f"error: {what}: {self.lib.nvrtcGetErrorString(code).decode()}\n{log}")

    def version(self):
        major, minor = ctypes.c_int(), ctypes.c_int()
        self.check(self.lib.nvrtcVersion(ctypes.byref(major), ctypes.byref(minor)), "nvrtcVersion")
        return f"{major.value}.{minor.value}"

    def ptx(self, path, arch):
        """The PTX of one generated source, compiled with its own options."""
        text = path.read_text()
        m = re.search(r"^// nvrtc options: (.*)$", text, re.M)
        if not m:
            sys.exit(f"error: {path.name} names no nvrtc options")
        opts = m.group(1).split() + [f"--gpu-architecture=compute_{arch}"]
        prog = ctypes.c_void_p()
        self.check(
            self.lib.nvrtcCreateProgram(ctypes.byref(prog), text.encode(), path.name.encode(), 0, None, None),
            f"{path.name}: nvrtcCreateProgram",
        )
        argv = (ctypes.c_char_p * len(opts))(*[o.encode() for o in opts])
        self.check(self.lib.nvrtcCompileProgram(prog, len(opts), argv), f"{path.name}: compile", prog)
        n = ctypes.c_size_t()
        self.check(self.lib.nvrtcGetPTXSize(prog, ctypes.byref(n)), f"{path.name}: PTX size")
        buf = ctypes.create_string_buffer(n.value)
        self.check(self.lib.nvrtcGetPTX(prog, buf), f"{path.name}: PTX")
        self.lib.nvrtcDestroyProgram(ctypes.byref(prog))
        ptx = buf.value
        entries = re.findall(r"\.entry\s+(\w+)", ptx.decode())
        if sorted(entries) != sorted(ENTRIES):
            sys.exit(f"error: {path.name}: kernels {entries}, expected {ENTRIES}")
        return ptx


class Driver:
    """The few CUDA driver calls a kernel launch needs."""

    def __init__(self):
        self.lib = load("libcuda.so.1")
        self.check(self.lib.cuInit(0), "cuInit")
        dev = ctypes.c_int()
        self.check(self.lib.cuDeviceGet(ctypes.byref(dev), 0), "cuDeviceGet")
        self.ctx = ctypes.c_void_p()
        self.check(self.lib.cuDevicePrimaryCtxRetain(ctypes.byref(self.ctx), dev), "cuDevicePrimaryCtxRetain")
        self.check(self.lib.cuCtxSetCurrent(self.ctx), "cuCtxSetCurrent")

    def check(self, code, what):
        if code != 0:
            msg = ctypes.c_char_p()
            self.lib.cuGetErrorString(code, ctypes.byref(msg))
            sys.exit(f"error: {what}: {msg.value.decode() if msg.value else code}")

    def alloc(self, floats, data=None):
        ptr = ctypes.c_uint64()
        self.check(self.lib.cuMemAlloc_v2(ctypes.byref(ptr), max(1, floats) * 4), "cuMemAlloc")
        if data is not None:
            buf = (ctypes.c_float * len(data))(*data)
            self.check(self.lib.cuMemcpyHtoD_v2(ptr, buf, len(data) * 4), "cuMemcpyHtoD")
        return ptr

    def read(self, ptr, floats):
        buf = (ctypes.c_float * floats)()
        self.check(self.lib.cuMemcpyDtoH_v2(buf, ptr, floats * 4), "cuMemcpyDtoH")
        return list(buf)

    def run_all(self, ptx, xs, params):
        """actsweep_all_kernel at xs with one unit: (value, d/dx, [d/dP...])."""
        module, fn = ctypes.c_void_p(), ctypes.c_void_p()
        self.check(self.lib.cuModuleLoadData(ctypes.byref(module), ptx), "cuModuleLoadData")
        self.check(self.lib.cuModuleGetFunction(ctypes.byref(fn), module, b"actsweep_all_kernel"), "cuModuleGetFunction")
        n, np_ = len(xs), len(params)
        x, out, dx = self.alloc(n, xs), self.alloc(n), self.alloc(n)
        p, dp = self.alloc(np_, params), self.alloc(np_ * n)
        args = [x, out, dx, p, dp, ctypes.c_uint64(n), ctypes.c_uint32(1)]
        argv = (ctypes.c_void_p * len(args))(*[ctypes.cast(ctypes.byref(a), ctypes.c_void_p) for a in args])
        self.check(self.lib.cuLaunchKernel(fn, 256, 1, 1, 256, 1, 1, 0, None, argv, None), "cuLaunchKernel")
        self.check(self.lib.cuCtxSynchronize(), "cuCtxSynchronize")
        got = (self.read(out, n), self.read(dx, n), [self.read(dp, np_ * n)[k * n:(k + 1) * n] for k in range(np_)])
        for ptr in (x, out, dx, p, dp):
            self.lib.cuMemFree_v2(ptr)
        self.lib.cuModuleUnload(module)
        return got


def initial_params(path):
    """The learnable parameters' initial values, from the source's third line."""
    m = re.search(r"^// learnable initial values: ?(.*)$", path.read_text(), re.M)
    if not m:
        sys.exit(f"error: {path.name} names no learnable initial values")
    return [float(v.split("=")[1]) for v in m.group(1).split()]


def f32(v):
    return struct.unpack("f", struct.pack("f", v))[0]


def values(path):
    """{activation: (xs, {column: [values]})} from `activations --values` CSV."""
    table = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            xs, cols = table.setdefault(row["activation"], ([], {}))
            xs.append(float(row["x"]))
            for k, v in row.items():
                if k in ("activation", "x") or v == "":
                    continue
                cols.setdefault(k, []).append(float(v))
    return table


def worst(got, want):
    scale = max((abs(w) for w in want if math.isfinite(w)), default=0.0)
    out = 0.0
    for g, w in zip(got, want):
        if math.isfinite(w):
            e = abs(g - w) / max(REL * abs(w) + ABS * scale, 1e-300)
        else:
            e = 0.0 if (g == w or (math.isnan(g) and math.isnan(w))) else math.inf
        out = max(out, e if not math.isnan(e) else math.inf)
    return out


def main(argv):
    if len(argv) < 2 or argv[0] not in ("compile", "run"):
        sys.exit(__doc__)
    arch = "90"
    if "--arch" in argv:
        i = argv.index("--arch")
        arch = argv[i + 1]
        del argv[i:i + 2]
    mode, src = argv[0], pathlib.Path(argv[1])
    nvrtc = Nvrtc()
    files = sorted(src.glob("*.cu"))
    if not files:
        sys.exit(f"error: no generated sources in {src}")
    print(f"NVRTC {nvrtc.version()}, compute_{arch}: {len(files)} activations")
    ptx = {f.stem: nvrtc.ptx(f, arch) for f in files}
    if mode == "compile":
        for name, p in ptx.items():
            print(f"  {name:<12} ok: {len(ENTRIES)} kernels, {len(p)} bytes of PTX")
        return
    table, drv, failed = values(argv[2]), Driver(), []
    for name, p in ptx.items():
        if name not in table:
            failed.append(f"{name}: not in {argv[2]}")
            continue
        xs, cols = table[name]
        dnames = [k for k in cols if k.startswith("d_")]
        params = initial_params(src / f"{name}.cu")
        if len(params) != len(dnames):
            failed.append(f"{name}: {len(params)} learnable parameters in the source, {len(dnames)} in the table")
            continue
        value, dx, dps = drv.run_all(p, [f32(x) for x in xs], params)
        errs = [worst(value, cols["value"]), worst(dx, cols["derivative"])]
        errs += [worst(g, cols[d]) for g, d in zip(dps, dnames)]
        e = max(errs)
        print(f"  {name:<12} worst {e:.3f} of the tolerance over {len(xs)} points")
        if not e <= 1.0:
            failed.append(f"{name}: {e:.3f} of the tolerance")
    if failed:
        sys.exit("error: the device kernels differ from the CPU kernels:\n  " + "\n  ".join(failed))


if __name__ == "__main__":
    main(sys.argv[1:])
