#!/bin/sh
# Installs the Debian packages listed in scripts/debian-packages.txt that are missing.
# On a system without apt-get it prints the list and stops.
set -eu
here=$(dirname "$0")
pkgs=$(grep -v '^#' "$here/debian-packages.txt" | tr -s ' \n' ' ')
missing=""
if command -v dpkg-query >/dev/null 2>&1; then
  for p in $pkgs; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    case "$status" in *"install ok installed"*) ;; *) missing="$missing $p" ;; esac
  done
else
  missing=" $pkgs"
fi
[ -z "$missing" ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
  echo "lathe needs these packages (Debian names):$missing" >&2
  echo "This system has no apt-get: install their equivalents by hand, then run make again." >&2
  exit 1
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "installing:$missing"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing
