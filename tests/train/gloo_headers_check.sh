#!/usr/bin/env bash
# Checks that Debian's Gloo headers (libgloo-dev), which stand in for the
# ones the torch wheel does not ship, cannot have changed what our code does
# with the Gloo compiled into LibTorch. Our objects may
#   - call into Gloo-related code only through symbols LibTorch exports
#     (so LibTorch's own Gloo does the work), and
#   - define nothing whose layout comes from Gloo's declarations: no vtable
#     of a Gloo-named class, no type info of a gloo:: class or of c10d's
#     GlooStore (which derives from gloo::rendezvous::Store and differs
#     between the two Gloos), no member of a gloo:: class. Such a weak
#     definition could be chosen over LibTorch's at load time. (Type info of
#     c10d's own Gloo classes, which UBSan's vptr check makes the compiler
#     emit, holds a name and c10d base classes, nothing of Gloo's.)
# Usage: gloo_headers_check.sh LIBTORCH_CPU_SO DIR...   (objects under DIRs)
set -euo pipefail
lib=$1
shift
mapfile -t objects < <(find "$@" -name '*.o' | sort)
if ((${#objects[@]} == 0)); then
  echo "FAIL: no object files under $*" >&2
  exit 1
fi
exports=$(mktemp)
trap 'rm -f "$exports"' EXIT
nm -D --defined-only "$lib" | awk '{print $NF}' | sort -u >"$exports"

failures=0
references=0
for o in "${objects[@]}"; do
  while read -r sym; do
    echo "FAIL: $o defines $(c++filt "$sym"), whose layout comes from Gloo's headers" >&2
    failures=$((failures + 1))
  done < <(nm --defined-only "$o" | awk '{print $NF}' |
    grep -E '^_ZTV.*[Gg]loo|^_ZT[IS].*4gloo|^_ZNK?4gloo|GlooStore' || true)
  while read -r sym; do
    references=$((references + 1))
    if ! grep -qxF "$sym" "$exports"; then
      echo "FAIL: $o calls $(c++filt "$sym"), which $lib does not export" >&2
      failures=$((failures + 1))
    fi
  done < <(nm -u "$o" | awk '{print $NF}' | grep -i gloo || true)
done
# The check must have seen the process group's construction at least, or
# it looked at the wrong objects.
if ((references == 0)); then
  echo "FAIL: none of the ${#objects[@]} objects refers to Gloo; wrong directories?" >&2
  exit 1
fi
if ((failures > 0)); then
  exit 1
fi
echo "${#objects[@]} objects: $references references to Gloo-related code, all exported by $(basename "$lib"); nothing Gloo-shaped defined"
