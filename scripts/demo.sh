#!/usr/bin/env bash
# The demonstration `make run` prints: verification, the textbook example, real layers timed.
set -euo pipefail
bin=${1:-.build/release/convkit}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "== convkit devices"
"$bin" devices
echo
echo "== convkit verify (every backend against the float64 reference)"
"$bin" verify
echo
echo "== the textbook example: a 5×5 input and a 3×3 filter"
"$bin" shape --input 1,1,5,5 --kernel 3,3 --out-channels 1 --padding valid
echo
"$bin" shape --input 1,1,5,5 --kernel 3,3 --out-channels 1 --padding same --stride 2
echo
echo "== real layer shapes, timed on the CPU backend"
"$bin" bench --suite tiny --budget 0.2
"$bin" bench --budget 0.3 \
    --shape mb1ic64ih56iw56oc64oh56ow56kh3kw3sh1sw1ph1pw1dh0dw0g1 \
    --shape mb1ic256ih56iw56oc64oh56ow56kh1kw1sh1sw1ph0pw0dh0dw0g1 \
    --shape mb1ic3ih224iw224oc64oh112ow112kh7kw7sh2sw2ph3pw3dh0dw0g1 \
    --shape mb1ic144ih56iw56oc144oh56ow56kh3kw3sh1sw1ph1pw1dh0dw0g144
