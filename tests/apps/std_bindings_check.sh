#!/usr/bin/env bash
# Our binaries must call libstdc++ for what libstdc++ provides. LibTorch's
# wheel exports private copies of parts of it (std::filesystem among them);
# a call the linker bound to such a copy carries no GLIBCXX version, and
# one of them (std::filesystem::remove_all in libtorch.so) jumped to 0.
# Fails for every symbol a binary imports without a version that the
# system's libstdc++ defines.
# Usage: std_bindings_check.sh BINARY...
set -euo pipefail
libstdcxx=$(g++ -print-file-name=libstdc++.so.6)
libstdcxx=$(readlink -f "$libstdcxx")
provided=$(mktemp)
trap 'rm -f "$provided"' EXIT
nm -D --defined-only "$libstdcxx" | awk '{sub(/@.*/, "", $NF); print $NF}' | sort -u >"$provided"

failures=0
imports=0
for bin in "$@"; do
  # An empty argument: a binary this build does not make (the CUDA module
  # of a CPU-only build).
  [[ -n $bin ]] || continue
  [[ -f $bin ]] || { echo "FAIL: $bin does not exist" >&2; exit 1; }
  # A sanitizer runtime linked in (ASan, TSan, UBSan builds) replaces
  # operator new and delete on purpose: what it defines may bind to it.
  sanitizer=$(mktemp)
  for rt in $(ldd "$bin" | awk '/lib(asan|tsan|ubsan|lsan)\.so/ {print $3}'); do
    nm -D --defined-only "$rt" | awk '{sub(/@.*/, "", $NF); print $NF}'
  done | sort -u >"$sanitizer"
  # Imported (undefined) dynamic symbols: "name@VERSION" where versioned.
  while read -r sym; do
    imports=$((imports + 1))
    [[ $sym == *@* ]] && continue
    if grep -qxF "$sym" "$provided" && ! grep -qxF "$sym" "$sanitizer"; then
      echo "FAIL: $bin imports $(c++filt "$sym") unversioned: bound at link time to a copy outside libstdc++" >&2
      failures=$((failures + 1))
    fi
  done < <(readelf --dyn-syms -W "$bin" | awk '$7 == "UND" && $8 ~ /^_Z/ {print $8}')
  rm -f "$sanitizer"
done
if ((imports == 0)); then
  echo "FAIL: no C++ imports read from $*" >&2
  exit 1
fi
((failures == 0)) || exit 1
echo "$# binaries, $imports C++ imports: everything libstdc++ defines is bound to libstdc++"
