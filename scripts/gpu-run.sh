#!/usr/bin/env bash
# The GPU machine's half of scripts/gpu-check.sh: runs from the unpacked bundle.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
gunzip -c "$here/convkit.gz" > "$work/convkit" && chmod +x "$work/convkit"
export LD_LIBRARY_PATH="$here/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export CONVKIT_CACHE_DIR="$work/cache"

# The ICD loader reads /etc/OpenCL/vendors; a CUDA image often ships the NVIDIA OpenCL
# library without that entry, so write one when the library exists.
if [ ! -e /etc/OpenCL/vendors/nvidia.icd ]; then
    nvidia=$(ldconfig -p 2>/dev/null | awk '/libnvidia-opencl.so.1 /{print $NF; exit}')
    [ -n "$nvidia" ] || nvidia=$(ls /usr/lib/x86_64-linux-gnu/libnvidia-opencl.so.1 /usr/local/nvidia/lib64/libnvidia-opencl.so.1 2>/dev/null | head -n 1)
    if [ -n "$nvidia" ]; then
        mkdir -p "$work/vendors"
        echo "$nvidia" > "$work/vendors/nvidia.icd"
        export OCL_ICD_VENDORS="$work/vendors"
        echo "gpu-run: using NVIDIA OpenCL library $nvidia"
    else
        echo "gpu-run: no /etc/OpenCL/vendors/nvidia.icd and no libnvidia-opencl.so.1: the driver has no OpenCL part here"
    fi
fi
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader 2>/dev/null | sed 's/^/gpu-run: nvidia-smi: /'

status=0
echo "== convkit devices"; "$work/convkit" devices || status=1
echo "== convkit verify --device opencl"; "$work/convkit" verify --device opencl || status=1
echo "== convkit bench --suite resnet50 --device opencl --profile"
"$work/convkit" bench --suite resnet50 --device opencl --profile --budget 0.3 --json "$work/bench.json" || status=1
echo "== summary: $([ $status -eq 0 ] && echo 'all steps passed' || echo 'a step FAILED (see above)')"
exit $status
