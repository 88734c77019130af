#!/usr/bin/env bash
# Makes sure Debian's Chromium is at /usr/bin/chromium for the browser test (tests/browser/).
#
# Why Debian's package and not `playwright install`: Playwright's own browser download comes from
# a host that machines like CI's cannot reach; Debian's `chromium` comes through apt, like every
# other system package, and Playwright drives it through `executable_path`.
#
# Why only as root: CI (`.ci/run`) runs as root on a fresh Debian machine, so it installs what it
# needs here. A developer who is not root gets the command to run instead of a sudo prompt.
#
# With it, fonts-noto-color-emoji: the notebooks mark results with ✅ and ⚠, which the
# screenshots under build/browser/ would otherwise show as empty boxes.
#
# Idempotent: does nothing when the browser is already there (CHROMIUM overrides the path).
set -euo pipefail

chromium="${CHROMIUM:-/usr/bin/chromium}"
if [ -x "$chromium" ]; then
    exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "install-chromium: $chromium is missing; installing Debian's chromium with apt-get (the browser test needs it)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends chromium fonts-noto-color-emoji >/dev/null
    if [ -x "$chromium" ]; then
        echo "install-chromium: $("$chromium" --version)"
        exit 0
    fi
    echo "install-chromium: apt-get installed chromium but $chromium is still missing" >&2
    exit 1
fi
cat >&2 <<EOF
install-chromium: the browser test needs Chromium at $chromium and it is missing.
  On Debian/Ubuntu, as root:  apt-get install -y chromium
  Or point CHROMIUM at an installed Chromium/Chrome binary (CHROMIUM=/path/to/chromium make test).
  Playwright's own download ('playwright install') is not used: its host is often unreachable.
EOF
exit 1
