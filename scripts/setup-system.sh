#!/usr/bin/env bash
# Installs the Debian packages the test suite uses (run as root, or through sudo):
#   chromium            real headless browser for the browser tests, and its SwiftShader Vulkan driver
#   libvulkan1          Vulkan loader for onnxruntime-node's WebGPU execution provider
#   python3-onnx        the official ONNX checker (/usr/bin/python3 -c 'import onnx')
#   dataset-fashion-mnist  real Fashion-MNIST for benchmarks and larger runs
set -euo pipefail
pkgs=(chromium libvulkan1 python3-onnx dataset-fashion-mnist)
missing=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -eq 0 ]; then echo "system packages present: ${pkgs[*]}"; exit 0; fi
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
