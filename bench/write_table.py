#!/usr/bin/env python3
"""Puts a benchmark's output into a Markdown document under the command that
made it, between the section's markers:

    <!-- bench:NAME -->
    ...replaced...
    <!-- /bench:NAME -->

Usage: write_table.py DOC NAME COMMAND OUTPUT_FILE

A document without the markers is an error, and is left as it was; the new
document replaces the old one by a rename, so a failed write loses nothing.
"""
import os
import sys


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    doc, name, command, output = sys.argv[1:]
    with open(doc, encoding="utf-8") as f:
        text = f.read()
    begin, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    i, j = text.find(begin), text.find(end)
    if i < 0 or j < i:
        sys.exit(f"write_table: '{doc}' has no section '{name}' ({begin} ... {end})")
    with open(output, encoding="utf-8") as f:
        table = f.read().strip("\n")
    body = f"{begin}\n`{command}`\n\n{table}\n"
    tmp = f"{doc}.tmp{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text[:i] + body + text[j:])
    os.replace(tmp, doc)


if __name__ == "__main__":
    main()
