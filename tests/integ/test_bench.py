"""The benchmarks still run, and detection does not regress: tests/bench/run
--smoke, a small tests/bench/fanout_bench, the crisis simulator and the NAB
benchmark, against the build under test.

Benchmarks are not run by the other tests, so a change to tocsind's
configuration or command line can break them unseen (it did once: the
ingest benchmark's configuration lacked the control socket address and
waited ten minutes for a daemon that had exited).  These tests check that
each benchmark exits 0 and prints its tables with every figure present;
they never look at how fast anything was.

The two detection benchmarks are deterministic (a seeded simulator, fixed
NAB series, event time only), so their outcomes are checked too, as
floors: the crisis simulator must catch every crisis shape, bursts within
two minutes, with at most 1 false alarm per 100 topic-days (the issue's
aims), on seed 1 and on seeds 2 and 3 summed up; on NAB the alerts must keep at least 14 of the 16 labelled windows
and score at least contextOSE's 76.0 (standard profile; they scored 81.9
when this floor was set), the onset score at least windowedGaussian's
64.8, the simplest published detector tocsin is measured against.

Run from tests/integ:  /usr/bin/python3 -m unittest -v test_bench
"""

import json
import os
import re
import subprocess
import tempfile
import unittest

SRC = os.environ.get("TOCSIN_SOURCE_DIR") or os.path.abspath(
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
BUILD = os.environ.get("TOCSIN_BUILD_DIR") or os.path.join(SRC, "build")


def table_rows(text, heading):
    """The data rows of the Markdown table under the heading starting with
    `heading`, as lists of cells."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.startswith(heading):
            break
    else:
        raise AssertionError("no table %r in:\n%s" % (heading, text))
    rows = []
    for line in lines[i + 1:]:
        if line.startswith("#"):
            break
        if line.startswith("|") and not line.startswith("| ---") \
                and not line.startswith("|---"):
            rows.append([c.strip() for c in line.strip("|").split("|")])
    return rows[1:]  # without the header


def number(cell):
    m = re.match(r"[0-9.]+", cell)
    return float(m.group(0)) if m else None


class IngestBench(unittest.TestCase):
    def test_smoke_run_prints_every_table(self):
        env = dict(os.environ, BUILD_DIR=BUILD)
        p = subprocess.run([os.path.join(SRC, "tests", "bench", "run"),
                            "--smoke"], env=env, capture_output=True,
                           text=True, timeout=300)
        self.assertEqual(p.returncode, 0, p.stderr)
        ingest = table_rows(p.stdout, "### Ingest")
        self.assertEqual([r[0] for r in ingest], ["json", "flat"])
        for r in ingest:
            ratio = number(r[4])
            self.assertIsNotNone(ratio, r)
            self.assertGreater(ratio, 0, r)
        replay = table_rows(p.stdout, "### Replay")
        self.assertEqual(len(replay), 4, replay)
        for r in replay:
            self.assertGreater(number(r[1]), 0, r)
        memory = table_rows(p.stdout, "### Memory")
        self.assertEqual(len(memory), 2, memory)
        for r in memory:
            self.assertIsNotNone(re.match(r"-?[0-9]+ bytes", r[3]), r)
        self.assertNotIn("did not", p.stderr)


class FanoutBench(unittest.TestCase):
    def test_small_run_delivers_everything(self):
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "fanout.md")
            env = dict(os.environ, BUILD_DIR=BUILD, TOCSIN_BUILD_DIR=BUILD)
            p = subprocess.run(
                ["/usr/bin/python3",
                 os.path.join(SRC, "tests", "bench", "fanout_bench"),
                 "--events", "20", "--slow-seconds", "0.2", "--out", out],
                env=env, capture_output=True, text=True, timeout=300)
            self.assertEqual(p.returncode, 0, p.stderr + p.stdout)
            with open(out) as f:
                text = f.read()
        rows = table_rows(text, "### Fan-out")
        self.assertEqual(sorted(r[0] for r in rows),
                         ["ntfy", "slack", "slow", "webhook", "webpush"])
        for r in rows:
            self.assertEqual(r[1].replace(" ", ""), "20/20", r)


SHARED = os.environ.get("TOCSIN_SHARED_DIR") or os.path.join(
    SRC, "..", "shared")


class CrisisBench(unittest.TestCase):
    def crisis(self, *args):
        p = subprocess.run(
            ["/usr/bin/python3", os.path.join(SRC, "tests", "bench",
                                              "crisis", "run"),
             "--tocsind", os.path.join(BUILD, "tocsind")] + list(args),
            capture_output=True, text=True, timeout=900)
        self.assertEqual(p.returncode, 0, p.stderr)
        return p.stdout

    def check_aims(self, out, rows):
        """Every shape caught, bursts within two minutes (median), at most
        1 false alarm per 100 topic-days; the shapes' rows back."""
        shapes = {r[0]: r for r in rows
                  if r[0] in ("burst", "buildup", "negshift", "smallbrand")}
        self.assertEqual(sorted(shapes),
                         ["buildup", "burst", "negshift", "smallbrand"])
        for name, r in shapes.items():
            caught, total = r[1].split("/")
            self.assertEqual(caught, total, "%s caught %s" % (name, r[1]))
        self.assertLessEqual(number(shapes["burst"][2]), 120, shapes["burst"])
        m = re.search(r"\*\*([0-9.]+) per 100 topic-days\*\*", out)
        self.assertIsNotNone(m, out)
        self.assertLessEqual(float(m.group(1)), 1.0, m.group(0))
        # No crisis's volume alert says "resolved" while the crisis goes
        # on, and every alert resolves.
        ends = table_rows(out, "## When the alerts end")
        self.assertTrue(any(r[1] == "MentionVolumeSpike" for r in ends), out)
        for r in ends:
            if r[1] == "MentionVolumeSpike":
                self.assertEqual(r[3], "0", r)
            self.assertEqual(r[7], "0", r)
        return shapes

    def test_every_shape_caught_and_few_false_alarms(self):
        out = self.crisis("--md", "")
        self.check_aims(out, table_rows(out, "## Per shape"))

    def test_two_more_seeds_summed_up(self):
        # --seeds runs each seed and sums them up: the same floors over
        # seeds 2 and 3, whose noise and topics differ from seed 1's; and
        # RESULTS.md is left alone.
        results = os.path.join(SRC, "tests", "bench", "crisis", "RESULTS.md")
        before = os.stat(results).st_mtime_ns
        out = self.crisis("--seeds", "2-3")
        rows = table_rows(out, "# Crisis simulator, seeds 2-3")
        shapes = self.check_aims(out, rows)
        for name, r in shapes.items():
            self.assertEqual(int(r[1].split("/")[1]),
                             8 if name == "burst" else 6, r)
        self.assertEqual([r[0] for r in rows if r[0] in ("2", "3")],
                         ["2", "3"])
        self.assertEqual(os.stat(results).st_mtime_ns, before)


class NabBench(unittest.TestCase):
    def nab(self, *extra):
        data = os.path.join(SHARED, "data", "nab-realtweets-dev")
        scorer = os.path.join(SHARED, "tools", "nab_score.py")
        self.assertTrue(os.path.isdir(data), "NAB data not found: %s" % data)
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "nab.json")
            p = subprocess.run(
                ["/usr/bin/python3", os.path.join(SRC, "tests", "bench",
                                                  "nab", "run"),
                 "--no-sweep", "--md", "", "--json", out,
                 "--data", data, "--scorer", scorer,
                 "--tocsind", os.path.join(BUILD, "tocsind")] + list(extra),
                capture_output=True, text=True, timeout=900)
            self.assertEqual(p.returncode, 0, p.stderr)
            with open(out) as f:
                res = json.load(f)["results"][0]
        self.assertEqual(res["binary"]["windows"], 16)
        return (res["binary"]["profiles"]["standard"],
                res["opt"]["profiles"]["standard"])

    def test_alerts_keep_the_labelled_windows(self):
        binary, opt = self.nab()
        self.assertGreaterEqual(binary["windows_hit"], 14, binary)
        self.assertGreaterEqual(binary["score"], 76.0, binary)
        self.assertGreaterEqual(opt["score"], 64.8, opt)

    def test_alerts_keep_the_windows_of_smaller_brands(self):
        # The same series at a quarter of their volume (a seeded draw):
        # one sensitivity must serve smaller topics too.  Before the noise
        # was learned late, 14 windows and 75.1.
        binary, _ = self.nab("--resample", "0.25")
        self.assertGreaterEqual(binary["windows_hit"], 14, binary)
        self.assertGreaterEqual(binary["score"], 76.0, binary)


if __name__ == "__main__":
    unittest.main()
