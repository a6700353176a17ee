#!/bin/sh
# Install Debian packages a group of tests needs, saying what it does first (the make *-deps targets).
#
#   sh scripts/apt_deps.sh TARGET "PACKAGES" "BINARY [BINARY...]" "WHY" "WHAT IS SKIPPED WITHOUT IT"
#
# Nothing to do when one of the binaries is on PATH. Without apt-get, or without root (and no
# password-less sudo), it installs nothing and says how to get them. As root: apt-get update, then a
# simulation listing what would change, then the install itself; a failed install is a warning (the
# tests that need the packages skip, naming the target), never a failed make.
set -u
target=$1 pkgs=$2 binaries=$3 why=$4 skipped=$5
for b in $binaries; do
	if found=$(command -v "$b"); then
		echo "$target: $b is installed ($found); nothing to do"
		exit 0
	fi
done
first=${binaries%% *}
if ! command -v apt-get >/dev/null; then
	echo "$target: no apt-get here: install $pkgs yourself, or $skipped is skipped"
	exit 0
fi
if [ "$(id -u)" != 0 ] && ! sudo -n true 2>/dev/null; then
	echo "$target: $first is missing and installing it needs root: run 'sudo make $target'"
	echo "  (until then $skipped is skipped)"
	exit 0
fi
SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
echo "$target: $why. Installing Debian's $pkgs as root:"
echo "  $SUDO apt-get update && $SUDO apt-get install -y --no-install-recommends $pkgs"
if $SUDO apt-get update -qq; then
	echo "$target: apt-get says it will change these packages:"
	# shellcheck disable=SC2086 # a list of packages
	$SUDO apt-get install -s --no-install-recommends $pkgs | grep -E '^(Inst|[0-9]+ upgraded)' | sed 's/^/  /'
fi
# shellcheck disable=SC2086
if DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $pkgs; then
	echo "$target: installed $(command -v "$first" || echo "($first not found on PATH)")"
else
	echo "$target: WARNING: installing $pkgs failed; $skipped will be skipped"
fi
