#!/usr/bin/env bash
# Run full-size seed runs on a lent device machine (16 cores) and bring the records back.
#
# Meant for the session `device` tool (docs/distributed.md, "A lent machine"): the working tree
# travels, the datasets travel in the ignored folder .device/data (copy them there first with
# `tools/device_runs.sh --stage`), and everything new under figures/full/seeds/ — finished records
# comes back as one archive in $OUT, which `python tools/merge_device_records.py ARCHIVE` unpacks
# into figures/full/seeds/ (each record checked; an existing record is never overwritten).
#
#   tools/device_runs.sh --stage                       # here: copy MNIST/Fashion into .device/data
#   WORKERS=14 LIMIT=540 tools/device_runs.sh table1 --sizes 784,2000,2000,1000,500,10 --arms normal mp
#
# Every worker is tools/run_full_background.py with one BLAS thread; they claim (arm, seed) runs
# through lock files, so WORKERS copies never train the same run.  LIMIT (seconds, default 540)
# stops the workers before the tool's 10-minute command limit, leaving time to pack the archive.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--stage" ]; then
    src="${RMTHEORY_DATA_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/rmtheory/datasets}"
    mkdir -p .device/data
    grep -qx '/.device/' .git/info/exclude 2>/dev/null || echo '/.device/' >> .git/info/exclude
    cp -r "$src"/. .device/data/
    echo "staged $(du -sh .device/data | cut -f1) from $src into .device/data (carry: .device)"
    exit 0
fi
: "${OUT:?OUT must name the folder whose files come back}"
WORKERS="${WORKERS:-$(nproc)}"
LIMIT="${LIMIT:-540}"
export RMTHEORY_DATA_DIR="$PWD/.device/data" RMTHEORY_OFFLINE=1
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 NUMBA_NUM_THREADS=1
python -m pip install -q -e . >/dev/null 2>&1 || python -m pip install -q -e .
stamp="$(mktemp)"
for i in $(seq 1 "$WORKERS"); do
    reverse=""; [ $((i % 2)) = 0 ] && reverse="--reverse"
    timeout --signal=INT "$LIMIT" python tools/run_full_background.py "$@" $reverse \
        > "$OUT/worker$i.log" 2>&1 &
done
wait || true
tail -n 2 "$OUT"/worker*.log | head -c 4000 > "$OUT/summary.txt" || true
rm -f "$OUT"/worker*.log
# the new finished records, in one archive; epoch checkpoints of a paper-size net are larger than
# the 16 MiB a returned file may have, so a run the limit cut short starts afresh next time
find figures/full/seeds -maxdepth 1 -newer "$stamp" -type f -name '*.json' -print0 \
    | tar --null -czf "$OUT/records.tar.gz" -T -
ls -l "$OUT"
