#!/bin/sh
# One engine-style cycle: create, start, wait until stopped, delete.
# Usage: cycle.sh RUNTIME ROOT BUNDLE ID
set -eu
rt=$1 root=$2 bundle=$3 id=$4
"$rt" --root "$root" create -b "$bundle" "$id" >/dev/null
"$rt" --root "$root" start "$id"
while "$rt" --root "$root" state "$id" | grep -q '"running"'; do :; done
"$rt" --root "$root" delete "$id"
