#!/usr/bin/env bash
# First OpenCL call in a new process, warm disk cache: runs `convkit conv --device opencl`
# on a 1×8×16×16 input N times (one process each) and prints what each call took,
# OpenCL platform start-up included, and the median. The first run fills the cache.
#   scripts/first-call.sh [BIN] [N]
set -euo pipefail
BIN=${1:-.build/release/convkit}
N=${2:-11}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
python3 - "$dir" <<'PY'
import struct, sys, random
def save(path, shape):
    # .npy v1.0, little-endian float32, C order
    header = "{'descr': '<f4', 'fortran_order': False, 'shape': (%s), }" % "".join(f"{d}, " for d in shape)
    header += " " * (63 - (10 + len(header)) % 64) + "\n"
    count = 1
    for d in shape: count *= d
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode())
        f.write(struct.pack(f"<{count}f", *(random.uniform(-1, 1) for _ in range(count))))
save(sys.argv[1] + "/x.npy", (1, 8, 16, 16))
save(sys.argv[1] + "/w.npy", (8, 8, 3, 3))
PY
run() { "$BIN" conv --input "$dir/x.npy" --weights "$dir/w.npy" --output "$dir/y.npy" --padding same --device opencl 2>&1 | tail -1; }
echo "cache fill: $(run)"
times=()
for _ in $(seq "$N"); do
    line=$(run)
    times+=("$(echo "$line" | sed -n 's/.* in \([0-9.]*\) ms$/\1/p')")
done
printf '%s\n' "${times[@]}" | sort -g | awk -v n="$N" '{t[NR]=$1} END {
    printf "first call, warm cache, %d processes (ms):", n; for (i = 1; i <= NR; i++) printf " %s", t[i]
    printf "\nmedian %s ms, min %s, max %s\n", t[int((NR + 1) / 2)], t[1], t[NR] }'
