#!/bin/bash
# fuzz.record: a bounded libFuzzer run of fuzz_record from the seed corpus.
#
#   run-fuzz.sh FUZZ_RECORD WORKDIR
#
# WORKDIR gets seeds/ (make-seeds.py, rewritten every run), corpus/ (what the fuzzer finds,
# kept between runs), artifacts/ (crash-*, leak-*, timeout-*, oom-* inputs), tmp/ (the
# scratch export) and fuzz.log.
# First every input in tests/fuzz/regressions/ runs once, then the fuzzer runs for
# SLUICE_FUZZ_SECONDS (default 120) seconds. Any crash, sanitizer report, leak, timeout
# (10 s per input) or out-of-memory (2 GiB) fails the test and prints the input in hex.
# Exit 0: no finding; 1: a finding or an error; 77: skipped (not root: the scratch export's
# handles need open_by_handle_at).
set -uo pipefail

fuzz=${1:-}
work=${2:-}
[ -n "$fuzz" ] && [ -n "$work" ] || { echo "usage: run-fuzz.sh FUZZ_RECORD WORKDIR" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
seconds=${SLUICE_FUZZ_SECONDS:-120}
if [ "$(id -u)" -ne 0 ]; then
    echo "1..0 # SKIP not root (sluice's handles need open_by_handle_at)"; exit 77
fi

rm -rf "$work/seeds" "$work/artifacts" "$work/tmp"
mkdir -p "$work/corpus" "$work/artifacts" "$work/tmp"
# fuzz_record's scratch export goes here (a crash leaves it behind; the next run removes it)
export TMPDIR="$work/tmp"
"$here/make-seeds.py" "$work/seeds" || { echo "not ok - make-seeds.py failed"; exit 1; }
log="$work/fuzz.log"

# libFuzzer exits 77 for its findings by default, which ctest would take for "skipped":
# every kind of finding exits 1 here. LeakSanitizer stays on (detect_leaks is the default).
common=(-timeout=10 -rss_limit_mb=2048 -error_exitcode=1 -timeout_exitcode=1
        -artifact_prefix="$work/artifacts/")
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

show_artifacts() {
    for a in "$work"/artifacts/*; do
        [ -f "$a" ] || continue
        echo "# finding: $a ($(stat -c %s "$a") bytes):"
        od -An -tx1 -v "$a" | head -40 | sed 's/^/#   /'
    done
}

rc=0
regs=()
for f in "$here"/regressions/*; do [ -f "$f" ] && regs+=("$f"); done
if [ ${#regs[@]} -gt 0 ]; then
    "$fuzz" "${common[@]}" "${regs[@]}" > "$work/regressions.log" 2>&1 || rc=$?
    if [ $rc -ne 0 ]; then
        echo "not ok 1 - ${#regs[@]} regression input(s) of tests/fuzz/regressions/ (exit $rc)"
        tail -n 60 "$work/regressions.log" | sed 's/^/#   /'
        exit 1
    fi
    echo "ok 1 - ${#regs[@]} regression input(s) of tests/fuzz/regressions/ run clean"
else
    echo "ok 1 - no regression inputs in tests/fuzz/regressions/ # SKIP"
fi

echo "# fuzzing for ${seconds} s: $fuzz ${common[*]} -max_total_time=$seconds $work/corpus $work/seeds"
start=$(date +%s)
"$fuzz" "${common[@]}" -max_total_time="$seconds" -print_final_stats=1 \
    "$work/corpus" "$work/seeds" > "$log" 2>&1
rc=$?
end=$(date +%s)
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
peak=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log" | tail -1)
cov=$(grep -Eo 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+/[0-9a-zA-Z]+' "$log" | tail -1)
echo "# $(($end - $start)) s, ${execs:-?} inputs (${rate:-?}/s), peak RSS ${peak:-?} MB, last: ${cov:-?}"
if [ $rc -eq 0 ] && ! grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:' "$log"; then
    echo "ok 2 - fuzz_record: no finding in ${seconds} s"
    echo "1..2"
    exit 0
fi
echo "not ok 2 - fuzz_record: a finding (exit $rc); the log's end ($log):"
grep -nE 'ERROR: |runtime error:|SUMMARY:|fuzz_record:' "$log" | head -10 | sed 's/^/#   /'
tail -n 80 "$log" | sed 's/^/#   /'
show_artifacts
echo "1..2"
exit 1
