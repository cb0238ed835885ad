#!/usr/bin/env bash
# Builds the real-audio dev set for bench/quality.sh from Debian's game and
# sound-data packages: downloads each package pinned in
# scripts/devset/packages.txt (name, version, sha256), unpacks only its audio
# members, installs nothing, and checks the written set against
# scripts/devset/devset.sha256.
#
# Usage: scripts/build_devset.sh OUT [--write-checksums]
#   --write-checksums  rewrite devset.sha256 from this build (after changing
#                      the packages or the rules), instead of checking it
#
# Needs the Python environment of `scripts/setup.sh bench` (numpy,
# soundfile, soxr). For benchmarks only: ctest never downloads.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:?usage: build_devset.sh OUT [--write-checksums]}"
write=0
if [[ "${2:-}" == "--write-checksums" ]]; then write=1; elif [[ -n "${2:-}" ]]; then
  echo "build_devset: unknown argument '$2'" >&2
  exit 2
fi
python="$(bash "$here/peer_env.sh" "${TORCH_ENV:-/opt/tessera/torch-2.11.0}")/bin/python"
"$python" -c "import numpy, soundfile, soxr" 2>/dev/null || {
  echo "build_devset: $python lacks numpy, soundfile or soxr; run 'scripts/setup.sh bench' first" >&2
  exit 1
}
if [[ -e "$out" ]]; then
  echo "build_devset: '$out' exists; give a new folder" >&2
  exit 1
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/debs" "$work/unpacked"
while read -r name version sha; do
  [[ -z "$name" || "$name" == \#* ]] && continue
  (cd "$work/debs" && apt-get download -q "$name=$version" >/dev/null 2>&1) || {
    echo "build_devset: apt-get download $name=$version failed (apt-get update first?)" >&2
    exit 1
  }
  deb="$(ls "$work/debs/${name}_"*.deb)"
  got="$(sha256sum "$deb" | cut -d' ' -f1)"
  if [[ "$got" != "$sha" ]]; then
    echo "build_devset: $deb has sha256 $got, expected $sha" >&2
    exit 1
  fi
  mkdir -p "$work/unpacked/$name"
  # Only the audio members (and UFO:AI's sound archive); tar exits non-zero
  # when a pattern matches nothing, which is fine for a package without one.
  dpkg-deb --fsys-tarfile "$deb" |
    tar -x -C "$work/unpacked/$name" --wildcards --no-anchored \
      '*.ogg' '*.wav' '*.flac' '*snd.pk3' 2>/dev/null || true
  rm -f "$deb"
  echo "build_devset: unpacked $name $version"
done <"$here/devset/packages.txt"

mkdir -p "$(dirname "$out")"
tmp_out="$out.partial"
rm -rf "$tmp_out"
"$python" "$here/devset/build_devset.py" "$work/unpacked" "$tmp_out"
sums="$here/devset/devset.sha256"
if ((write)); then
  (cd "$tmp_out" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum) >"$sums"
  echo "build_devset: wrote $(wc -l <"$sums") checksums to $sums"
else
  (cd "$tmp_out" && sha256sum --quiet -c "$sums") || {
    echo "build_devset: the set differs from $sums (left in $tmp_out)" >&2
    exit 1
  }
  n_listed="$(wc -l <"$sums")"
  n_files="$(find "$tmp_out" -type f | wc -l)"
  if [[ "$n_listed" != "$n_files" ]]; then
    echo "build_devset: $n_files files written, $n_listed listed in $sums (left in $tmp_out)" >&2
    exit 1
  fi
fi
mv "$tmp_out" "$out"
echo "build_devset: $out is ready"
