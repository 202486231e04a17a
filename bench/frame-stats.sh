#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Responsiveness of the desktop app while it trains: runs `gaflow --frame-stats SECONDS` on its default
# experiment (training at once, the simplex animation drawing every frame) under Xvfb and reports the
# frame clock's interval percentiles. The goal: p99 under 33 ms (30 frames per second at worst).
# Usage: bench/frame-stats.sh [BUILD_DIR] [SECONDS] [RENDERER]   (renderer: cairo or gl; default cairo)
set -eu
build=${1:-build}
seconds=${2:-20}
renderer=${3:-cairo}
line=$(GSETTINGS_BACKEND=memory GTK_A11Y=none GSK_RENDERER=$renderer \
  xvfb-run -a -s "-screen 0 1400x1000x24" "$build/app/gaflow" --frame-stats "$seconds" 2>/dev/null | grep '^frames ')
echo "$line"
p99=$(echo "$line" | sed -n 's/.* p99_ms \([0-9.]*\).*/\1/p')
rate=$(echo "$line" | sed -n 's/.* steps_per_s \([0-9.]*\).*/\1/p')
echo "frame interval p99: $p99 ms while training at $rate steps/s (goal: under 33 ms)"
awk -v p="$p99" 'BEGIN { exit !(p < 33.0) }'
