#!/usr/bin/env bash
# bench/write_table.py, which run_all.sh uses to keep docs/performance.md
# current: a table goes between its section's markers under its command, a
# second run replaces it rather than adding to it, the rest of the document
# stays byte for byte, and a document without the section is refused and
# left as it was. Expected documents are written out here in full.
# Usage: write_table_check.sh PATH/TO/write_table.py
set -euo pipefail
script=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

printf 'intro\n<!-- bench:a -->\nold a\n<!-- /bench:a -->\nmiddle\n<!-- bench:b -->\n<!-- /bench:b -->\nend\n' >"$work/doc.md"
printf '| x |\n|---|\n| 1 |\n' >"$work/table1"
printf '| x |\n|---|\n| 2 |\n' >"$work/table2"
expected() {
  printf 'intro\n<!-- bench:a -->\nold a\n<!-- /bench:a -->\nmiddle\n<!-- bench:b -->\n`%s`\n\n| x |\n|---|\n| %s |\n<!-- /bench:b -->\nend\n' "$1" "$2"
}

python3 "$script" "$work/doc.md" b 'bash bench/b.sh build' "$work/table1"
diff <(expected 'bash bench/b.sh build' 1) "$work/doc.md" || fail "first table not in place"
python3 "$script" "$work/doc.md" b 'N=2 bash bench/b.sh build' "$work/table2"
diff <(expected 'N=2 bash bench/b.sh build' 2) "$work/doc.md" || fail "second run did not replace the first"

cp "$work/doc.md" "$work/before.md"
if python3 "$script" "$work/doc.md" missing 'cmd' "$work/table1" 2>"$work/err"; then
  fail "a missing section was accepted"
fi
grep -q "has no section 'missing'" "$work/err" || fail "the error does not name the section: $(cat "$work/err")"
cmp -s "$work/doc.md" "$work/before.md" || fail "a refused write changed the document"
leftovers=$(find "$work" -name 'doc.md.tmp*' | wc -l)
[[ $leftovers == 0 ]] || fail "temporary files left behind"
echo "PASS"
