#!/usr/bin/env bash
# GPU check for ConvKit's OpenCL backend on a machine with no Swift toolchain.
#
#   scripts/gpu-check.sh bundle [DIR]   (here)  build a static, stripped convkit and pack it
#                                               with the OpenCL ICD loader into DIR (default
#                                               gpu-bundle/, ignored by git)
#   bash DIR/run.sh                     (there) find the NVIDIA OpenCL driver, run
#                                               `convkit devices`, `verify --device opencl`
#                                               and `bench --suite resnet50 --device opencl
#                                               --profile`, and print one summary
#
# The bundle stays far below the 64 MiB a device run may carry: the static binary
# compresses to ~20 MB.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
mode=${1:-bundle}
out=${2:-$root/gpu-bundle}

if [ "$mode" != bundle ]; then
    echo "usage: scripts/gpu-check.sh bundle [DIR]" >&2
    exit 2
fi

"$root/scripts/install-deps.sh"
cd "$root"
swift build -c release --static-swift-stdlib --scratch-path .build-static --product convkit
bin=$(swift build -c release --static-swift-stdlib --scratch-path .build-static --show-bin-path)/convkit
rm -rf "$out"
mkdir -p "$out/lib"
strip -o "$out/convkit" "$bin"
gzip -9 -f "$out/convkit"
loader=$(ldconfig -p | awk '/libOpenCL.so.1 /{print $NF; exit}')
[ -n "$loader" ] || { echo "gpu-check: libOpenCL.so.1 (ocl-icd) not found" >&2; exit 1; }
cp -L "$loader" "$out/lib/libOpenCL.so.1"
cp "$root/scripts/gpu-run.sh" "$out/run.sh"
du -sh "$out"/* | sed 's/^/gpu-check: /'
echo "gpu-check: bundle ready in $out; on the GPU machine run: bash $out/run.sh"
