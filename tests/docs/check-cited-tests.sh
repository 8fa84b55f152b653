#!/bin/sh
# Every unit test the protocol references in docs/ cite by name must exist, so that the
# "Proven by" columns cannot rot. A citation is a `code span` that starts the way our test
# names do ("RFC ", "IMAP ", "POP3 ", "rfc9112 ", "webmail: ", ...).
# Usage: check-cited-tests.sh UNIT_TESTS_BINARY SOURCE_DIR
set -eu
unit_tests=$1
source_dir=$2
names=$(mktemp)
trap 'rm -f "$names"' EXIT
"$unit_tests" --list-test-names-only | sed 's/^ *//' >"$names"

status=0
count=0
for doc in smtp pop3 imap http; do
  file="$source_dir/docs/$doc.md"
  if [ ! -f "$file" ]; then
    echo "check-cited-tests: $file is missing" >&2
    status=1
    continue
  fi
  cited=$(grep -o '`[^`]*`' "$file" | sed 's/^`//; s/`$//' |
    grep -E '^(RFC |Engine contract:|AUTH LOGIN:|POP3 |IMAP |rfc[0-9]+ |webmail: |webmail (server|client): )' |
    sort -u)
  while IFS= read -r name; do
    [ -n "$name" ] || continue
    count=$((count + 1))
    if ! grep -Fxq -- "$name" "$names"; then
      echo "docs/$doc.md cites a test that does not exist: $name" >&2
      status=1
    fi
  done <<LIST
$cited
LIST
done
[ "$count" -gt 0 ] || { echo "check-cited-tests: no citations found" >&2; status=1; }
[ "$status" -eq 0 ] && echo "check-cited-tests: $count cited tests exist"
exit "$status"
