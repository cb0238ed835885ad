#!/usr/bin/env bash
# libtorch_cpu.so exports protobuf symbols of the protobuf it links
# statically (another version than Debian's). Every symbol that Debian's
# libprotobuf-lite defines must bind to libprotobuf-lite, for our calls and
# its own, never to a LibTorch copy: read from the dynamic loader's own
# record, with every symbol bound at start (LD_BIND_NOW). With LibTorch
# 2.11 the two export no symbol in common; a wheel that did would fail here
# whenever LibTorch came first in the lookup order. (LibTorch's references
# to what only it defines, its ONNX messages, bind to LibTorch, as they
# should.)
# Usage: protobuf_bindings_check.sh BINARY [ARGS...]
set -euo pipefail
log=$(mktemp)
lite_symbols=$(mktemp)
trap 'rm -f "$log" "$lite_symbols"' EXIT
lite=$(ldd "$1" | awk '/libprotobuf-lite/ {print $3}')
[[ -f $lite ]] || { echo "FAIL: $1 does not load libprotobuf-lite" >&2; exit 1; }
nm -D --defined-only "$lite" | awk '{print $NF}' | sort -u >"$lite_symbols"
LD_BIND_NOW=1 LD_DEBUG=bindings LD_DEBUG_OUTPUT="$log" "$@" >/dev/null 2>&1 || true
shopt -s nullglob
records=("$log".*)
((${#records[@]})) || { echo "FAIL: the loader wrote no record for $*" >&2; exit 1; }
ours=$(cat "${records[@]}" | grep -c 'to [^ ]*libprotobuf-lite[^ ]* .*symbol `_ZN6google8protobuf' || true)
theirs=$(cat "${records[@]}" | grep 'to [^ ]*libtorch[^ ]* .*symbol `_ZN6google8protobuf' |
  sed -n "s/.*symbol \`\([^']*\)'.*/\1/p" | sort -u | grep -xFf "$lite_symbols" || true)
rm -f "${records[@]}"
if [[ -n $theirs ]]; then
  echo "FAIL: protobuf symbols that libprotobuf-lite defines bound to LibTorch's copies:" >&2
  echo "$theirs" | head -20 | c++filt >&2
  exit 1
fi
((ours > 0)) || { echo "FAIL: no protobuf symbol bound to libprotobuf-lite; is it linked?" >&2; exit 1; }
echo "$ours protobuf bindings, all to libprotobuf-lite, none to LibTorch"
