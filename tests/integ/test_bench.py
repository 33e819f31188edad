"""The benchmarks still run: tests/bench/run --smoke and a small
tests/bench/fanout_bench, against the build under test.

Benchmarks are not run by the other tests, so a change to tocsind's
configuration or command line can break them unseen (it did once: the
ingest benchmark's configuration lacked the control socket address and
waited ten minutes for a daemon that had exited).  These tests check that
each benchmark exits 0 and prints its tables with every figure present;
they never look at how fast anything was.

Run from tests/integ:  /usr/bin/python3 -m unittest -v test_bench
"""

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


if __name__ == "__main__":
    unittest.main()
