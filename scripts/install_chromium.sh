#!/usr/bin/env bash
# Install Debian's chromium for the browser test when it is missing (needs root, as on CI and dev machines).
set -eu
if [ -x /usr/bin/chromium ]; then exit 0; fi
if [ "$(id -u)" != "0" ]; then
  echo "warning: /usr/bin/chromium is missing and we are not root; the browser test will be skipped" >&2
  exit 0
fi
echo "installing Debian chromium for the real-browser test"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq chromium >/dev/null
/usr/bin/chromium --version
