#!/usr/bin/python3
"""Compares lathe's outputs with the reference's: every REF_DIR/NAME.npy against
GOT_DIR/NAME.npy, same shape, and max |got - ref| <= RELATIVE * max |ref| (default 1e-4,
issue 3's bound for real models). Prints one line per output with the largest difference and
the bound; exit 0 when every output is within it, 1 otherwise.
usage: compare.py REF_DIR GOT_DIR [RELATIVE]
"""
import os
import sys

import numpy as np

RELATIVE = 1e-4


def main():
    ref_dir, got_dir = sys.argv[1:3]
    relative = float(sys.argv[3]) if len(sys.argv) > 3 else RELATIVE
    names = sorted(f for f in os.listdir(ref_dir) if f.endswith(".npy"))
    if not names:
        print(f"no outputs in {ref_dir}")
        return 1
    ok = True
    for f in names:
        name = f[:-4]
        ref = np.load(os.path.join(ref_dir, f))
        path = os.path.join(got_dir, f)
        if not os.path.exists(path):
            print(f"{name}: lathe wrote no {f}")
            ok = False
            continue
        got = np.load(path)
        if got.shape != ref.shape or got.dtype != ref.dtype:
            print(f"{name}: lathe gives {got.dtype}{list(got.shape)}, the reference {ref.dtype}{list(ref.shape)}")
            ok = False
            continue
        ref64, got64 = ref.astype(np.float64), got.astype(np.float64)
        diff = float(np.max(np.abs(got64 - ref64))) if ref.size else 0.0
        bound = relative * float(np.max(np.abs(ref64))) if ref.size else 0.0
        within = bool(np.all(np.isfinite(got64))) and diff <= bound
        print(f"{name}: max |diff| {diff:.3g}, bound {bound:.3g}" + ("" if within else " EXCEEDED"))
        ok = ok and within
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
