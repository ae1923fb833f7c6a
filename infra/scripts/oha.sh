#!/usr/bin/env bash
# Prints the path of an `oha` load generator, installing a pinned one into .local/ first
# if none is on PATH. Used by the benchmark scripts.
set -euo pipefail
cd "$(dirname "$0")/../.."
if command -v oha > /dev/null; then
  command -v oha
else
  [ -x .local/bin/oha ] || cargo install oha --locked --version 1.16.0 --root .local >&2
  echo "$PWD/.local/bin/oha"
fi
