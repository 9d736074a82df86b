#!/bin/bash
# sanitizer.suite: configure, build and test an ASan + UBSan tree made with clang.
#
#   run-suite.sh SRC BUILD GENERATOR VM_TESTS
#
# BUILD is configured with -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=ASan -DSLUICE_FUZZ=ON
# (and SLUICE_VM_TESTS as in the main build), built, and its ctest runs
# the unit tests, the host tests, the bounded libFuzzer run and e2e.sluice (selected by name,
# so tests added later under these names are picked up). The reference servers' e2e tests
# (e2e.knfsd, e2e.ganesha) do not run sluice code and are left out.
# Warnings are not errors here: the main (gcc) build is the -Werror gate, and clang warns about
# things gcc accepts (-Wstring-plus-int on optable.c's "#num + 3"). They are counted below.
# Exit 0 when all of it passed, 77 (skipped) without clang, 1 otherwise.
set -uo pipefail

src=${1:-} build=${2:-} gen=${3:-Ninja} vm=${4:-ON}
[ -n "$src" ] && [ -n "$build" ] || { echo "usage: run-suite.sh SRC BUILD GENERATOR VM_TESTS" >&2; exit 2; }
cc=$(command -v clang) || { echo "1..0 # SKIP clang missing (deploy/install-deps.sh --test installs it)"; exit 77; }
select='^(unit\.|host\.|fuzz\.|e2e\.sluice$)'

step() { echo "# $(date -u +%H:%M:%S) $*"; }
t0=$(date +%s)
mkdir -p "$build"
step "configure $build (clang, ASan, SLUICE_FUZZ=ON, SLUICE_VM_TESTS=$vm)"
if ! cmake -S "$src" -B "$build" -G "$gen" -DCMAKE_C_COMPILER="$cc" -DCMAKE_BUILD_TYPE=ASan \
        -DSLUICE_FUZZ=ON -DSLUICE_VM_TESTS="$vm" -DSLUICE_WERROR=OFF \
        > "$build/configure.log" 2>&1; then
    echo "not ok 1 - configure the ASan tree"; sed 's/^/#   /' "$build/configure.log" | tail -40
    exit 1
fi
step "build"
if ! cmake --build "$build" > "$build/build.log" 2>&1; then
    echo "not ok 1 - build the ASan tree"; grep -E 'error|FAILED' "$build/build.log" | head -40 | sed 's/^/#   /'
    tail -20 "$build/build.log" | sed 's/^/#   /'
    exit 1
fi
t1=$(date +%s)
echo "ok 1 - ASan tree configured and built in $((t1 - t0)) s"
warnings=$(grep -c 'warning:' "$build/build.log")
echo "# clang warnings: $warnings"
grep -o '\[-W[a-z0-9-]*\]' "$build/build.log" | sort | uniq -c | sed 's/^ */#   /'
# What the ASan sluiced needs at run time (the guest has tests/vm/packages.txt).
ldd "$build/sluiced" 2>&1 | sed 's/^/#   ldd sluiced: /'

# The ASan sluiced runs the guest battery once, with NFSv4.1 (the whole three-version run
# happens in the main tree's e2e.sluice); it keeps the suite inside CI's time limit.
export VERSIONS=${SANITIZER_E2E_VERSIONS:-4.1}
step "ctest -R '$select' (e2e versions: $VERSIONS)"
rc=0
ctest --test-dir "$build" --output-on-failure --no-tests=error -R "$select" || rc=$?
t2=$(date +%s)
if [ $rc -eq 0 ]; then
    echo "ok 2 - the ASan tree's tests pass ($((t2 - t1)) s)"
else
    echo "not ok 2 - the ASan tree's tests (ctest exit $rc, $((t2 - t1)) s)"
fi
echo "1..2"
echo "# sanitizer.suite: $((t2 - t0)) s in all"
[ $rc -eq 0 ]
