#!/usr/bin/env python3
"""Runs `convkit conv` and `convkit pool` on NumPy-made .npy files and compares each output
with an independent NumPy float64 implementation of semantics.md.

usage: scripts/numpy-check.py [--bin .build/release/convkit] [--devices cpu,opencl,reference]
Exit status 1 on any mismatch. Needs numpy.
"""
import argparse, math, os, subprocess, sys, tempfile
import numpy as np

EPS = 2.0 ** -23


def pads_for(mode, n, k, s, d):
    e = d * (k - 1) + 1
    if mode == "valid":
        return 0, 0
    if mode in ("same", "same-lower"):
        out = -(-n // s)
        total = max((out - 1) * s + e - n, 0)
        small = total // 2
        return (small, total - small) if mode == "same" else (total - small, small)
    raise ValueError(mode)


def conv_ref(x, w, b, stride, pads, dil, groups, border):
    """float64 loops over a padded copy; returns values and Σ|x̂·w|+|b| magnitudes."""
    (sh, sw), (pt, pb, pl, pr), (dh, dw) = stride, pads, dil
    mode = {"zeros": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}[border]
    xp = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (pt, pb), (pl, pr)), mode=mode)
    n, c, h, wd = xp.shape
    k, cg, r, s = w.shape
    kg = k // groups
    oh = (h - dh * (r - 1) - 1) // sh + 1
    ow = (wd - dw * (s - 1) - 1) // sw + 1
    y = np.zeros((n, k, oh, ow))
    mag = np.zeros_like(y)
    w64 = w.astype(np.float64)
    for g in range(groups):
        xs = xp[:, g * cg:(g + 1) * cg]
        for rr in range(r):
            for ss in range(s):
                patch = xs[:, :, rr * dh: rr * dh + (oh - 1) * sh + 1: sh, ss * dw: ss * dw + (ow - 1) * sw + 1: sw]
                wk = w64[g * kg:(g + 1) * kg, :, rr, ss]
                y[:, g * kg:(g + 1) * kg] += np.einsum("nchw,kc->nkhw", patch, wk)
                mag[:, g * kg:(g + 1) * kg] += np.einsum("nchw,kc->nkhw", np.abs(patch), np.abs(wk))
    if b is not None:
        y += b.astype(np.float64)[None, :, None, None]
        mag += np.abs(b.astype(np.float64))[None, :, None, None]
    return y, mag


def activate(y, name):
    if name == "relu":
        return np.maximum(y, 0)
    if name == "sigmoid":
        return 1 / (1 + np.exp(-y))
    return y


def pool_ref(x, mode, k, s, pads, d, ceil, include_pad):
    n, c, h, w = x.shape
    (kh, kw), (sh, sw), (pt, pb, pl, pr), (dh, dw) = k, s, pads, d

    def axis(size, kk, ss, pb_, pe, dd):
        e = dd * (kk - 1) + 1
        span = size + pb_ + pe - e
        out = (-(-span // ss) if ceil else span // ss) + 1
        if ceil and (out - 1) * ss >= size + pb_:
            out -= 1
        return out

    oh, ow = axis(h, kh, sh, pt, pb, dh), axis(w, kw, sw, pl, pr, dw)
    y = np.zeros((n, c, oh, ow))
    mag = np.zeros_like(y)
    for i in range(oh):
        for j in range(ow):
            rows = [i * sh - pt + t * dh for t in range(kh)]
            cols = [j * sw - pl + t * dw for t in range(kw)]
            real_r = [r for r in rows if 0 <= r < h]
            real_c = [q for q in cols if 0 <= q < w]
            if mode == "max":
                y[:, :, i, j] = x[:, :, real_r][:, :, :, real_c].astype(np.float64).max(axis=(2, 3)) if real_r and real_c else -np.inf
            else:
                window = x[:, :, real_r][:, :, :, real_c].astype(np.float64)
                total = window.sum(axis=(2, 3)) if real_r and real_c else 0
                absolute = np.abs(window).sum(axis=(2, 3)) if real_r and real_c else 0
                if include_pad:
                    div = sum(-pt <= r < h + pb for r in rows) * sum(-pl <= q < w + pr for q in cols)
                else:
                    div = len(real_r) * len(real_c)
                y[:, :, i, j] = total / div if div else 0
                mag[:, :, i, j] = absolute / div if div else 0
            if mode == "max":
                mag[:, :, i, j] = np.abs(y[:, :, i, j])
    return y, mag


def explicit_pads(text):
    v = [int(p) for p in text.split(",")]
    if len(v) == 1:
        return (v[0],) * 4
    if len(v) == 2:
        return (v[0], v[0], v[1], v[1])
    return tuple(v)


def run(binary, args):
    result = subprocess.run([binary] + args, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(result.stderr.strip())
    return result


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", default=".build/release/convkit")
    parser.add_argument("--devices", default="cpu,opencl,reference")
    parser.add_argument("--pool", action="store_true", help="also check pooling")
    parser.add_argument("--epilogue", action="store_true", help="also check --activation and --border")
    options = parser.parse_args()
    rng = np.random.default_rng(2026)
    conv_cases = [
        # (N, C, H, W, K, R, S, stride, padding, dilation, groups)
        (1, 1, 5, 5, 1, 3, 3, (1, 1), "valid", (1, 1), 1),
        (1, 1, 5, 5, 1, 3, 3, (1, 1), "same", (1, 1), 1),
        (1, 1, 5, 5, 1, 3, 3, (2, 2), "same", (1, 1), 1),
        (2, 6, 9, 8, 4, 3, 2, (2, 1), "same-lower", (1, 2), 2),
        (1, 8, 12, 11, 8, 3, 3, (1, 1), "1,1", (1, 1), 8),
        (3, 3, 10, 7, 5, 5, 1, (3, 2), "0,2,1,0", (2, 1), 1),
        (1, 16, 14, 14, 24, 1, 1, (2, 2), "valid", (1, 1), 1),
        (1, 3, 32, 30, 16, 7, 7, (2, 2), "3", (1, 1), 1),
    ]
    epilogue = [("relu", "zeros"), ("sigmoid", "reflect"), ("identity", "replicate"), ("relu", "circular")]
    failures = 0
    print(f"{'case':58} {'device':10} {'worst |y−ref|/(ε·Σ|x·w|)':>26}  result")
    with tempfile.TemporaryDirectory() as tmp:
        cases = [(case, "identity", "zeros") for case in conv_cases]
        if options.epilogue:
            cases += [(conv_cases[3], a, b) for a, b in epilogue] + [(conv_cases[4], a, b) for a, b in epilogue]
        for index, ((n, c, h, w, k, r, s, stride, padding, dil, groups), act, border) in enumerate(cases):
            x = rng.uniform(-1, 1, (n, c, h, w)).astype(np.float32)
            wt = rng.uniform(-1, 1, (k, c // groups, r, s)).astype(np.float32)
            b = rng.uniform(-1, 1, (k,)).astype(np.float32)
            for name, array in (("x", x), ("w", wt), ("b", b)):
                np.save(os.path.join(tmp, f"{name}{index}.npy"), array)
            if padding in ("valid", "same", "same-lower"):
                ph, pw = pads_for(padding, h, r, stride[0], dil[0]), pads_for(padding, w, s, stride[1], dil[1])
                pads = (ph[0], ph[1], pw[0], pw[1])
            else:
                pads = explicit_pads(padding)
            ref, mag = conv_ref(x, wt, b, stride, pads, dil, groups, border)
            ref = activate(ref, act)
            tau = (c // groups) * r * s + 2 + (8 if act == "sigmoid" else 0)
            label = f"{n}x{c}x{h}x{w} k{k} {r}x{s} s{stride} p{padding} d{dil} g{groups} {act}/{border}"
            for device in options.devices.split(","):
                out = os.path.join(tmp, f"y{index}-{device}.npy")
                try:
                    run(options.bin, ["conv", "--input", f"{tmp}/x{index}.npy", "--weights", f"{tmp}/w{index}.npy",
                                      "--bias", f"{tmp}/b{index}.npy", "--stride", f"{stride[0]},{stride[1]}",
                                      "--padding", padding, "--dilation", f"{dil[0]},{dil[1]}", "--groups", str(groups),
                                      "--activation", act, "--border", border, "--device", device, "--output", out])
                    y = np.load(out).astype(np.float64)
                    ratio = float(np.max(np.abs(y - ref) / (EPS * np.maximum(mag, 1e-30)))) if y.shape == ref.shape else math.inf
                    ok = ratio <= tau
                except RuntimeError as error:
                    ratio, ok = math.inf, False
                    print(f"  {device}: {error}")
                failures += not ok
                print(f"{label:58} {device:10} {ratio:26.3f}  {'ok' if ok else 'MISMATCH'}")
        if options.pool:
            pool_cases = [
                # (shape, mode, k, s, padding, dilation, ceil, include_pad)
                ((1, 2, 7, 7), "max", (2, 2), (2, 2), "valid", (1, 1), False, False),
                ((1, 2, 7, 7), "max", (2, 2), (2, 2), "valid", (1, 1), True, False),
                ((2, 3, 8, 9), "average", (3, 3), (2, 2), "1", (1, 1), True, False),
                ((2, 3, 8, 9), "average", (3, 3), (2, 2), "1", (1, 1), True, True),
                ((1, 4, 9, 6), "average", (2, 3), (1, 2), "0,1,1,0", (1, 1), False, True),
                ((1, 4, 10, 10), "max", (3, 3), (2, 2), "same", (2, 1), False, False),
                ((1, 3, 5, 5), "average", (2, 2), (2, 2), "1", (1, 1), True, False),
            ]
            for index, (shape, mode, k, s, padding, dil, ceil, include) in enumerate(pool_cases):
                x = rng.uniform(-1, 1, shape).astype(np.float32)
                np.save(os.path.join(tmp, f"p{index}.npy"), x)
                if padding in ("valid", "same"):
                    ph, pw = pads_for(padding, shape[2], k[0], s[0], dil[0]), pads_for(padding, shape[3], k[1], s[1], dil[1])
                    pads = (ph[0], ph[1], pw[0], pw[1])
                else:
                    pads = explicit_pads(padding)
                ref, mag = pool_ref(x, mode, k, s, pads, dil, ceil, include)
                taps = k[0] * k[1] + 1
                label = f"pool {mode} {shape} k{k} s{s} p{padding} d{dil} ceil={ceil} incl={include}"
                for device in options.devices.split(","):
                    out = os.path.join(tmp, f"q{index}-{device}.npy")
                    args = ["pool", "--input", f"{tmp}/p{index}.npy", "--mode", mode, "--kernel", f"{k[0]},{k[1]}",
                            "--stride", f"{s[0]},{s[1]}", "--padding", padding, "--dilation", f"{dil[0]},{dil[1]}",
                            "--device", device, "--output", out]
                    args += ["--ceil-mode"] if ceil else []
                    args += ["--count-include-pad"] if include else []
                    try:
                        run(options.bin, args)
                        y = np.load(out).astype(np.float64)
                        # The float32 sum of `taps` values errs by at most taps·ε·Σ|x|, then one rounding.
                        error = float(np.max(np.abs(y - ref) / np.maximum(EPS * mag, 1e-30))) if y.shape == ref.shape else math.inf
                        ok = error <= taps
                    except RuntimeError as failure:
                        error, ok = math.inf, False
                        print(f"  {device}: {failure}")
                    failures += not ok
                    print(f"{label:58} {device:10} {error:26.3f}  {'ok' if ok else 'MISMATCH'}")
    print(f"{failures} mismatches")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
