#!/bin/sh
# Every code block in README.md preceded by `<!-- snippet: PATH -->` must equal PATH byte for byte, so
# that the README's examples are programs that `make test` builds and runs.
set -eu
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
paths=$(sed -n 's/^<!-- snippet: \(.*\) -->$/\1/p' README.md)
[ -n "$paths" ] || { echo "README.md has no snippets to check"; exit 1; }
for path in $paths; do
  awk -v want="<!-- snippet: $path -->" '$0 == want { getline; on = 1; next } on && /^```/ { exit } on' \
    README.md > "$tmp/snippet"
  if ! cmp -s "$tmp/snippet" "$path"; then
    echo "README.md's snippet for $path differs from the file:"
    diff "$tmp/snippet" "$path" || true
    exit 1
  fi
  echo "README.md snippet == $path"
done
