#!/usr/bin/env bash
# Installs the system programs lineage uses beside Python: Graphviz (`dot`) for SVG/PNG/PDF and
# Chromium for the HTML explorer's browser test. Only acts when something is missing.
set -u
# Arguments name the packages wanted (graphviz, chromium); none means both.
wanted=("$@")
[ ${#wanted[@]} -eq 0 ] && wanted=(graphviz chromium)
missing=()
for pkg in "${wanted[@]}"; do
  case "$pkg" in
    graphviz) command -v dot >/dev/null 2>&1 || missing+=(graphviz) ;;
    chromium) command -v chromium >/dev/null 2>&1 || missing+=(chromium) ;;
    *) echo "system-deps.sh: unknown package $pkg" >&2; exit 2 ;;
  esac
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing ${missing[*]} with apt-get ..."
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
    || { echo "apt-get could not install ${missing[*]}" >&2; exit 1; }
  exit 0
fi

cat >&2 <<MSG
lineage: these system programs are missing: ${missing[*]}
  Debian/Ubuntu:  sudo apt-get install graphviz chromium
  macOS:          brew install graphviz && brew install --cask chromium
Without Graphviz, 'lineage render' draws svg and html with its built-in layout and writes dot and
mermaid; only png and pdf need Graphviz.
Tests that need a missing program fail with a message naming it.
MSG
exit 0
