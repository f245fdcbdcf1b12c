#!/usr/bin/env bash
# Makes sure the system programs live needs are present: redis-server (7 or newer) always;
# with `chromium` (browser tests) Debian's chromium, a Chinese font (the pages come in
# Chinese too) and Node with npm (axe-core and the medooze WHIP client are installed from
# tools/axe and tools/whip-whep); with `ffmpeg` Debian's ffmpeg (the replay tests read
# recordings back with ffprobe). Installs Debian packages when run as root; otherwise says
# exactly what to install.
set -euo pipefail

need_redis=1
need_chromium=0
need_ffmpeg=0
for arg in "$@"; do
  case "$arg" in
    chromium) need_chromium=1 ;;
    ffmpeg) need_ffmpeg=1 ;;
  esac
done

redis_ok() {
  command -v redis-server >/dev/null 2>&1 || return 1
  local major
  major=$(redis-server --version | sed -n 's/.*v=\([0-9]*\)\..*/\1/p')
  [ -n "$major" ] && [ "$major" -ge 7 ]
}

missing=()
if [ "$need_redis" = 1 ] && ! redis_ok; then missing+=(redis-server); fi
if [ "$need_chromium" = 1 ] && [ ! -x /usr/bin/chromium ]; then missing+=(chromium fonts-liberation); fi
if [ "$need_chromium" = 1 ] && ! fc-list :lang=zh 2>/dev/null | grep -q .; then missing+=(fonts-wqy-microhei); fi
if [ "$need_chromium" = 1 ] && ! command -v npm >/dev/null 2>&1; then missing+=(nodejs npm); fi
if [ "$need_ffmpeg" = 1 ] && ! command -v ffprobe >/dev/null 2>&1; then missing+=(ffmpeg); fi

if [ ${#missing[@]} -eq 0 ]; then exit 0; fi

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing ${missing[*]} with apt-get" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # Debian's redis-server package starts a system service on 6379; live never uses it.
  redis_ok || { echo "redis-server 7 or newer is still missing after apt-get" >&2; exit 1; }
  exit 0
fi

echo "live needs: ${missing[*]}." >&2
echo "Install them (Debian/Ubuntu: sudo apt-get install ${missing[*]}; macOS: brew install redis) and run again." >&2
exit 1
