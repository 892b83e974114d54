#!/usr/bin/env bash
# A Vulkan device without a GPU for the WebGPU suite (npm run test:webgpu): Mesa 25's
# lavapipe from bookworm-backports (Dawn rejects Debian 12's own Mesa 22.3). Run as
# root on Debian 12; .ci/run calls it. Idempotent: does nothing once lavapipe is there.
set -euo pipefail
if [ -f /usr/share/vulkan/icd.d/lvp_icd.json ] && dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null | grep -q '^25\.'; then
  exit 0
fi
cat > /etc/apt/sources.list.d/backports.sources <<'SOURCES'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -t bookworm-backports mesa-vulkan-drivers libvulkan1 >/dev/null
