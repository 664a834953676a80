#!/usr/bin/env bash
# Proves ConvKit links the way users link it: as a version-based dependency (SwiftPM
# refuses unsafeFlags there). Tags a clone of HEAD, builds a consumer package that
# depends on it with `exact:`, and runs a convolution through the public API.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
version=0.0.1-check

git clone -q "$root" "$work/ConvKit"
git -C "$work/ConvKit" -c user.name=check -c user.email=check@localhost tag -a "$version" -m "version check"

mkdir -p "$work/Consumer/Sources/Consumer"
cat > "$work/Consumer/Package.swift" <<MANIFEST
// swift-tools-version:6.0
import PackageDescription
let package = Package(
    name: "Consumer",
    dependencies: [.package(url: "file://$work/ConvKit", exact: "$version")],
    targets: [.executableTarget(name: "Consumer", dependencies: [.product(name: "ConvKit", package: "ConvKit")])]
)
MANIFEST
cat > "$work/Consumer/Sources/Consumer/main.swift" <<'SWIFT'
import ConvKit

let input = try Tensor(shape: TensorShape(1, 1, 5, 5), scalars: [
    1, 1, 1, 0, 0,
    0, 1, 1, 1, 0,
    0, 0, 1, 1, 1,
    0, 0, 1, 1, 0,
    0, 1, 1, 0, 0,
])
let filter = try Tensor(shape: TensorShape(1, 1, 3, 3), scalars: [1, 0, 1, 0, 1, 0, 1, 0, 1])
let (map, selection) = try ConvolutionDispatcher.shared.convolve(input, weights: filter, descriptor: Conv2DDescriptor())
print("feature map \(map.shape) on \(selection): \(map.scalars)")
guard map.scalars == [4, 3, 4, 2, 4, 3, 2, 3, 4] else { fatalError("wrong feature map") }
SWIFT
cd "$work/Consumer"
swift build -c release 2>&1 | tail -n 3
"$(swift build -c release --show-bin-path)/Consumer"
echo "version-based dependency ($version, exact:) builds and runs"
