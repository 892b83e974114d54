#!/usr/bin/env bash
# Installs a real VS Code (code-server 4.100.3, VS Code 1.100.3) whose extension host
# runs on this machine's Node 20, plus Debian's Chromium to drive it. Everything comes
# from the npm registry and Debian's packages (no other downloads), cached in
# .cache/code-server so a second run takes seconds. See README "Tests".
set -euo pipefail
cd "$(dirname "$0")/../.."
CACHE="$PWD/.cache/code-server"
VERSION=4.100.3
MARK="$CACHE/.ready-$VERSION"

need_apt=()
command -v chromium >/dev/null || need_apt+=(chromium)
command -v rg >/dev/null || need_apt+=(ripgrep)
dpkg -s libkrb5-dev >/dev/null 2>&1 || need_apt+=(libkrb5-dev)
command -v pkg-config >/dev/null || need_apt+=(pkg-config)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup-code-server: installing Debian packages: ${need_apt[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if [ -f "$MARK" ]; then
  echo "setup-code-server: cached in $CACHE"
  exit 0
fi

echo "setup-code-server: installing code-server $VERSION into $CACHE (2-3 minutes)"
# npm 11 blocks dependency install scripts by default; these native modules need theirs.
ALLOW=--dangerously-allow-all-scripts
rm -rf "$CACHE"
mkdir -p "$CACHE"
cd "$CACHE"
echo '{"name":"code-server-harness","private":true}' > package.json
npm install --no-audit --no-fund --ignore-scripts "code-server@$VERSION" >/dev/null
npm rebuild $ALLOW argon2 >/dev/null
VS="$CACHE/node_modules/code-server/lib/vscode"
cd "$VS"
npm install --omit=dev --ignore-scripts --no-audit --no-fund >/dev/null
mkdir -p node_modules/@vscode/ripgrep/bin
cp "$(command -v rg)" node_modules/@vscode/ripgrep/bin/rg
# node-pty's own post-install step fails on `npx node-gyp` after pty.node is built: harmless.
npm rebuild $ALLOW @parcel/watcher @vscode/deviceid @vscode/spdlog kerberos native-watchdog node-pty @vscode/sqlite3 @vscode/policy-watcher >/dev/null 2>&1 || true
test -f node_modules/node-pty/build/Release/pty.node || { echo "setup-code-server: node-pty did not build" >&2; exit 1; }
ln -sfn node_modules node_modules.asar
(cd bin/remote-cli && ln -sf code-linux.sh code-server)
(cd bin/helpers && ln -sf browser-linux.sh browser.sh)
(cd extensions && npm install $ALLOW --omit=dev --no-audit --no-fund >/dev/null)
touch "$MARK"
echo "setup-code-server: ready"
