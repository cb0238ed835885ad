#!/usr/bin/env bash
# libtorch_cpu.so exports protobuf symbols of the protobuf it links
# statically (another version than Debian's). Every symbol that Debian's
# libprotobuf-lite (the TensorBoard writer's) or libprotobuf (the ONNX
# library's, for `tessera export`) defines must bind to Debian's library,
# for our calls and theirs, never to a LibTorch copy: read from the dynamic
# loader's own record, with every symbol bound at start (LD_BIND_NOW). With
# LibTorch 2.11 the two export no symbol in common; a wheel that did would
# fail here whenever LibTorch came first in the lookup order. (LibTorch's
# references to what only it defines, its ONNX messages in namespace
# onnx_torch, bind to LibTorch, as they should.)
# Usage: protobuf_bindings_check.sh BINARY [ARGS...]
set -euo pipefail
log=$(mktemp)
debian_symbols=$(mktemp)
trap 'rm -f "$log" "$debian_symbols"' EXIT
libs=$(ldd "$1" | awk '/libprotobuf(-lite)?\.so/ {print $3}')
grep -q 'libprotobuf-lite' <<<"$libs" || { echo "FAIL: $1 does not load libprotobuf-lite" >&2; exit 1; }
for lib in $libs; do nm -D --defined-only "$lib" | awk '{print $NF}'; done | sort -u >"$debian_symbols"
LD_BIND_NOW=1 LD_DEBUG=bindings LD_DEBUG_OUTPUT="$log" "$@" >/dev/null 2>&1 || true
shopt -s nullglob
records=("$log".*)
((${#records[@]})) || { echo "FAIL: the loader wrote no record for $*" >&2; exit 1; }
ours=$(cat "${records[@]}" | grep -c 'to [^ ]*libprotobuf[^ ]* .*symbol `_ZN6google8protobuf' || true)
theirs=$(cat "${records[@]}" | grep 'to [^ ]*libtorch[^ ]* .*symbol `_ZN6google8protobuf' |
  sed -n "s/.*symbol \`\([^']*\)'.*/\1/p" | sort -u | grep -xFf "$debian_symbols" || true)
rm -f "${records[@]}"
if [[ -n $theirs ]]; then
  echo "FAIL: protobuf symbols that Debian's protobuf defines bound to LibTorch's copies:" >&2
  echo "$theirs" | head -20 | c++filt >&2
  exit 1
fi
((ours > 0)) || { echo "FAIL: no protobuf symbol bound to Debian's protobuf; is it linked?" >&2; exit 1; }
echo "$ours protobuf bindings, all to Debian's $(echo $libs | xargs -n1 basename | paste -sd' '), none to LibTorch"
