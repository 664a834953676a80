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
# Issue 7's GPU goal: the large 3×3 and 1×1 ResNet-50 layers at batch 32, kernel time by
# event profiling, as a share of the FP32 FMA peak = SMs (compute units) × FP32 lanes per SM
# × 2 × max SM clock. Lanes per SM by architecture (override: GPU_FP32_LANES_PER_SM, or the
# whole peak: GPU_PEAK_GFLOPS): 64 on V100, T4, A100, A30; 128 on H100/H200/GH200, Ada and
# the other Ampere parts.
gpu_line=$("$work/convkit" devices 2>/dev/null | awk '$2 == "gpu" {print; exit}')
name=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -n 1)
mhz=$(nvidia-smi --query-gpu=clocks.max.sm --format=csv,noheader,nounits 2>/dev/null | head -n 1 | tr -dc '0-9')
sms=$(echo "$gpu_line" | sed -n 's/.* \([0-9][0-9]*\) compute units.*/\1/p')
case "$name" in
    *V100*|*T4*|*A100*|*A30*) lanes=64 ;;
    *) lanes=128 ;;
esac
lanes=${GPU_FP32_LANES_PER_SM:-$lanes}
peak=${GPU_PEAK_GFLOPS:-}
if [ -z "$peak" ] && [ -n "$sms" ] && [ -n "$mhz" ]; then peak=$((sms * lanes * 2 * mhz / 1000)); fi
echo "== batch 32, large 3x3 and 1x1 layers (peak: ${peak:-unknown} GFLOP/s = ${sms:-?} SMs x $lanes lanes x 2 x ${mhz:-?} MHz, $name)"
shapes="mb32ic64ih56oc64oh56kh3ph1 mb32ic128ih28oc128oh28kh3ph1 mb32ic256ih14oc256oh14kh3ph1 mb32ic512ih7oc512oh7kh3ph1
mb32ic64ih56oc256oh56kh1 mb32ic256ih56oc64oh56kh1 mb32ic512ih28oc256oh28kh1 mb32ic1024ih14oc256oh14kh1
mb32ic256ih14oc1024oh14kh1 mb32ic2048ih7oc512oh7kh1 mb32ic512ih7oc2048oh7kh1"
printf '%s\n' $shapes | "$work/convkit" bench --shapes - --device opencl --profile --budget 0.3 ${peak:+--peak "$peak"} \
    --json "$work/bench32.json" || status=1
echo "== summary: $([ $status -eq 0 ] && echo 'all steps passed' || echo 'a step FAILED (see above)')"
exit $status
