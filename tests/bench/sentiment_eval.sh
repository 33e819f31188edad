#!/bin/sh
# sentiment_eval.sh: score the DEV sentiment files with the built-in scorer
# and print one table of negative-vs-not F1 (and a few other metrics).
#
#   tests/bench/sentiment_eval.sh [BUILD_DIR] [DATA_DIR]
#
# BUILD_DIR (default: build) must hold sentiment_bench, whose --score-text
# mode follows the same contract as `tocsind --score-text`.  DATA_DIR
# defaults to /work/shared/data/sentiment-dev; the evaluation script is
# $SENTIMENT_EVAL (default /work/shared/tools/sentiment_eval.py).  The DEV
# texts are read only here and never copied into the repository.
set -eu
here=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$here/build}
data=${2:-/work/shared/data/sentiment-dev}
eval_py=${SENTIMENT_EVAL:-/work/shared/tools/sentiment_eval.py}
bin=$build/sentiment_bench
lexdir=$here/conf/lexicons
[ -x "$bin" ] || { echo "no $bin: build first" >&2; exit 1; }
[ -f "$eval_py" ] || { echo "no $eval_py" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# file  lang  reference neg F1 (plain reference lexicon scorer)
cat >"$tmp/plan" <<'PLAN'
en_vader_tweets en 0.930
en_vader_amazon en 0.521
en_semeval17_umsab en 0.660
en_tweeteval en 0.546
fr_deft17_umsab fr 0.655
en_vader_tweets auto 0.930
en_vader_amazon auto 0.521
en_semeval17_umsab auto 0.660
en_tweeteval auto 0.546
fr_deft17_umsab auto 0.655
PLAN

printf '%-20s %-5s %7s %7s %7s %7s %7s %7s %9s  %s\n' file lang negP negR \
    negF1 ref AUC mF1_3 texts/s verdict
fail=0
while read -r f lang ref; do
    path=$data/$f.dev.tsv
    [ -f "$path" ] || { echo "missing $path" >&2; fail=1; continue; }
    python3 "$eval_py" --json "$tmp/out.json" \
        --cmd "'$bin' --score-text --lang $lang '$lexdir'" "$path" \
        >/dev/null 2>"$tmp/err" || { cat "$tmp/err" >&2; fail=1; continue; }
    python3 - "$tmp/out.json" "$f" "$lang" "$ref" <<'PY' || fail=1
import json, sys
d = json.load(open(sys.argv[1]))
r = d[0] if isinstance(d, list) else d
if isinstance(r, dict) and "results" in r:
    r = r["results"][0]
if isinstance(r, dict) and len(r) == 1 and isinstance(next(iter(r.values())), dict):
    r = next(iter(r.values()))
g = lambda k: r.get(k, float("nan"))
ref = float(sys.argv[4])
ok = g("neg_f1") >= ref - 1e-9
print("%-20s %-5s %7.3f %7.3f %7.3f %7.3f %7.3f %7.3f %9.0f  %s" % (
    sys.argv[2], sys.argv[3], g("neg_precision"), g("neg_recall"),
    g("neg_f1"), ref, g("neg_auc"), g("macro_f1_3"), g("texts_per_s"),
    "ok" if ok else "BELOW REF"))
sys.exit(0 if ok else 1)
PY
done <"$tmp/plan"
exit $fail
