#!/usr/bin/env bash
# Installs Debian's Chromium for the viewer's browser test
# (web/e2e/viewer.e2e.mjs drives /usr/bin/chromium through playwright-core;
# no browser is downloaded from anywhere else). Idempotent: exits at once
# when /usr/bin/chromium already runs. Needs root (or sudo) and apt.
set -euo pipefail

bin=/usr/bin/chromium
if [ -x "$bin" ] && "$bin" --version >/dev/null 2>&1; then
	echo "install-chromium: $("$bin" --version 2>/dev/null | head -n1)"
	exit 0
fi

sudo=
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null || { echo "install-chromium: run as root (apt-get install chromium)" >&2; exit 1; }
	sudo="sudo -n"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q chromium
"$bin" --version
