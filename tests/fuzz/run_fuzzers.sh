#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) from the sources they
# need, replays the inputs that once crashed them (tests/fuzz/regressions),
# then fuzzes each from a small seed corpus.
# Usage: tests/fuzz/run_fuzzers.sh SOURCE_DIR WORK_DIR [SECONDS | smoke]
# "smoke" (what ctest runs) makes a fixed number of runs from a fixed seed,
# so CI sees the same inputs every time; SECONDS fuzzes for real.
# Exit status: non-zero if a target fails to build or any input crashes it.
set -euo pipefail
mode=${3:-${FUZZ_SECONDS:-10}}
# Absolute paths: the replay below runs from inside the work folder, where a
# relative SOURCE_DIR (the README's ".") would no longer point anywhere.
src=$(cd "$1" && pwd)
mkdir -p "$2"
work=$(cd "$2" && pwd)
cxx=${CXX_FUZZ:-clang++}
flags=(-std=c++17 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
       -fno-omit-frame-pointer -I"$src/src" -DNDEBUG)
common=("$src"/src/tessera/common/{near_match,atomic_file,temporary_files,npy,log,simd_dispatch}.cpp)
audio=("$src"/src/tessera/audio/*.cpp)
features=("$src"/src/tessera/features/*.cpp)
data=("$src"/src/tessera/data/{dataset,dcase_reader}.cpp)
libs=(-lsndfile -lsoxr -lpthread)

# Rebuilt unless the binary was built from exactly these contents: the
# compiler and flags, the fuzz target, every source it is built from and every
# header (a library file edited since, or one checked out older, must reach
# the fuzzer too). The key is the SHA-256 of all of them, kept beside it.
build() {  # name sources...
  local name=$1; shift
  local key
  key=$({ echo "$cxx ${flags[*]} ${libs[*]}"; cat "$src/tests/fuzz/$name.cpp" "$@" \
        "$src"/src/tessera/*/*.h; } | sha256sum | cut -d' ' -f1)
  if [[ ! -x $work/$name || $(cat "$work/$name.key" 2>/dev/null) != "$key" ]]; then
    echo "building $name"
    rm -f "$work/$name.key"
    "$cxx" "${flags[@]}" -o "$work/$name" "$src/tests/fuzz/$name.cpp" "$@" "${libs[@]}"
    echo "$key" > "$work/$name.key"
  fi
}

build fuzz_config "${common[@]}" "$src"/src/tessera/study/config.cpp
build fuzz_fold_list "${common[@]}" "${data[@]}"
build fuzz_cache_entry "${common[@]}" "${audio[@]}" "${features[@]}"
build fuzz_audio "${common[@]}" "${audio[@]}" "${features[@]}"

# Seeds: real inputs of each kind.
mkdir -p "$work"/corpus/{config,fold,cache,audio}
cp "$src"/configs/*.json "$work/corpus/config/"
printf 'audio/a.wav\tcooking\tsession1\naudio/b.wav\tabsence\n' > "$work/corpus/fold/seed"
printf 'TSRFEAT1' > "$work/corpus/cache/seed"
python3 - "$work/corpus/audio/seed.wav" <<'PY' 2>/dev/null || printf 'RIFF' > "$work/corpus/audio/seed"
import struct, sys, wave
with wave.open(sys.argv[1], "wb") as w:
    w.setnchannels(2); w.setsampwidth(2); w.setframerate(8000)
    w.writeframes(b"".join(struct.pack("<hh", i * 37 % 3000, -i * 11 % 2000) for i in range(600)))
PY

status=0
for t in config:fuzz_config fold:fuzz_fold_list cache:fuzz_cache_entry audio:fuzz_audio; do
  corpus=${t%%:*}; name=${t##*:}
  # Inputs that once crashed a target must keep passing.
  if compgen -G "$src/tests/fuzz/regressions/$corpus/*" > /dev/null; then
    if ! (cd "$work" && ASAN_OPTIONS=detect_leaks=0 "./$name" "$src"/tests/fuzz/regressions/"$corpus"/* > "$name.regressions.log" 2>&1); then
      echo "FAILED: $name on a regression input"; tail -n 30 "$work/$name.regressions.log"; status=1
    fi
  fi
  if [[ $mode == smoke ]]; then
    limit=(-seed=1 -runs=20000)
    echo "running $name: 20000 runs from seed 1"
  else
    limit=(-max_total_time="$mode")
    echo "running $name for ${mode}s"
  fi
  # -timeout: an input that takes over 10 s is a failure (a hang), not a wait.
  if ! (cd "$work" && ASAN_OPTIONS=detect_leaks=0 "./$name" "${limit[@]}" -timeout=10 -max_len=8192 \
        -rss_limit_mb=2048 -print_final_stats=1 "corpus/$corpus" > "$name.log" 2>&1); then
    echo "FAILED: $name (see $work/$name.log)"; tail -n 30 "$work/$name.log"; status=1
  else
    grep -E "stat::number_of_executed_units" "$work/$name.log" | sed "s/^/$name: /"
  fi
done
exit $status
