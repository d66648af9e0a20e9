#!/usr/bin/env bash
# The GPU check of issue 17 (docs/ort-engine.md, "GPU check").
#   scripts/device-check.sh prepare [--dry-run] [--no-xz] [--rows N]
#       here (Node + the built packages): packs .device/aekit-device.tar.xz, what the device needs
#       (Node, onnxruntime-node's linux-x64 files, the bundled aekit code, a Fashion-MNIST sample)
#   scripts/device-check.sh run [--plan]
#       on the device machine (no Node needed), from the repo root: unpacks into /tmp/aekit-device
#       and reports GPU, WebGPU adapter, CUDA provider, training and inference rows/s vs PyTorch,
#       as markdown on stdout and in $OUT/device-check.{md,json} when OUT is set.
# Env for run: AEKIT_DEVICE_TARBALL (default .device/aekit-device.tar.xz), AEKIT_DEVICE_DIR (an
# already unpacked folder, e.g. .device/stage from prepare --no-xz), and those check.mjs lists.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
TARBALL=${AEKIT_DEVICE_TARBALL:-$PWD/.device/aekit-device.tar.xz}

usage() {
  sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'
}

unpack() { # $1 tarball, $2 folder
  rm -rf "$2" && mkdir -p "$2" || return 1
  if command -v xz >/dev/null 2>&1; then
    tar -xJf "$1" -C "$2"
  else # no xz binary: Python's tarfile reads .xz through lzma
    python3 -c 'import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])' "$1" "$2"
  fi
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case "$cmd" in
  prepare)
    command -v node >/dev/null 2>&1 || { echo "device-check prepare: needs node (run it where the repo is built)" >&2; exit 1; }
    exec node scripts/device/prepare.mjs "$@"
    ;;
  run)
    for a in "$@"; do
      if [ "$a" = --plan ]; then
        if command -v node >/dev/null 2>&1; then exec node scripts/device/check.mjs --plan; fi
        if [ -x "${AEKIT_DEVICE_DIR:-/nonexistent}/bin/node" ]; then exec "$AEKIT_DEVICE_DIR/bin/node" scripts/device/check.mjs --plan; fi
        echo "device-check: --plan needs node on PATH or AEKIT_DEVICE_DIR; the steps are listed in scripts/device/check.mjs (PLAN)" >&2
        exit 1
      fi
    done
    D=${AEKIT_DEVICE_DIR:-}
    if [ -z "$D" ]; then
      if [ ! -f "$TARBALL" ]; then
        echo "device-check: $TARBALL is missing: run 'scripts/device-check.sh prepare' on a machine with Node and carry it" >&2
        nvidia-smi -L 2>&1 || true
        exit 1
      fi
      D=/tmp/aekit-device
      t0=$SECONDS
      unpack "$TARBALL" "$D" || { echo "device-check: could not unpack $TARBALL into $D" >&2; exit 1; }
      echo "unpacked $(du -sh "$D" | cut -f1) into $D in $((SECONDS - t0)) s"
    fi
    if ! "$D/bin/node" -v >/dev/null 2>&1; then
      echo "device-check: the carried Node does not start here:" >&2
      "$D/bin/node" -v 2>&1 | head -5 >&2
      nvidia-smi 2>&1 | head -15
      exit 1
    fi
    exec "$D/bin/node" "$D/check.mjs" --dir "$D" "$@"
    ;;
  -h | --help | help) usage ;;
  *) usage >&2; exit 2 ;;
esac
