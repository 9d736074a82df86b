#!/bin/bash
# Guest side of make-dataset.sh: finish the dataset image mounted read-write at /data.
set -euo pipefail
t=/data/tree
mkdir -p "$t/many"
(cd "$t/many" && seq -f 'f%06g' 0 99999 | xargs touch)
seq -f 'f%06g' 0 99999 > /data/many.names
# Varied timestamps with nanoseconds, so a server that truncates or shifts them is caught.
i=0
while IFS= read -r -d '' p; do
    i=$((i + 1))
    touch -h -d "@$((1000000000 + i * 86413)).$(printf '%09d' $((i * 7919 % 1000000000)))" "$p"
done < <(find "$t" -path "$t/many" -prune -o -print0)
touch -d '@1600000000.123456789' "$t/many"
sync
find /data -maxdepth 2 | head -20
echo "dataset finished: $(ls -f "$t/many" | wc -l) entries in many/ (with . and ..)"
