"""tocsind --replay reads its input in blocks: lines that straddle blocks,
CRLF endings, a last line without a newline and over-long lines.

Runs the real daemon binary on files in a private directory; no Redis.
"""

import json
import os
import subprocess
import tempfile
import unittest

from tocsin_harness import LEXICONS, TOCSIND, make_crisis_stream

CONF = ('detection = { bucket = 60; };\n'
        'alerts = { external_url = "http://tocsin.test"; };\n'
        'sentiment = { lexicons = "%s"; };\n' % LEXICONS)


def replay(path, conf, *extra):
    return subprocess.run([TOCSIND, "--replay", path, "-c", conf] +
                          list(extra), capture_output=True)


class ReplayBlocksTest(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="tocsin-replay-")
        self.dir = self.tmp.name
        self.conf = os.path.join(self.dir, "t.conf")
        with open(self.conf, "w") as f:
            f.write(CONF)

    def tearDown(self):
        self.tmp.cleanup()

    def write(self, name, data):
        path = os.path.join(self.dir, name)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def test_lines_across_blocks_read_like_short_lines(self):
        mentions = make_crisis_stream(1_800_000_000_000, seed=3)
        short = "".join(json.dumps(m) + "\n" for m in mentions).encode()
        # The same mentions padded to about 3 kB a line (unknown attribute,
        # escapes in it), CRLF endings and no newline at the very end: the
        # file spans several 1 MiB blocks and lines straddle them.
        long_lines = []
        for i, m in enumerate(mentions):
            m = dict(m, pad="\u00e9\"x" * (500 + i % 997))
            long_lines.append(json.dumps(m))
        padded = "\r\n".join(long_lines).encode()
        self.assertGreater(len(padded), 3 << 20)
        a = replay(self.write("short.jsonl", short), self.conf, "--scores")
        b = replay(self.write("padded.jsonl", padded), self.conf, "--scores")
        self.assertEqual(a.returncode, 0, a.stderr)
        self.assertEqual(b.returncode, 0, b.stderr)
        self.assertEqual(b.stderr, a.stderr)
        self.assertEqual(b.stdout, a.stdout)
        rows = [json.loads(l) for l in a.stdout.splitlines()
                if b'"volume_score"' in l]
        self.assertEqual(sum(r["count"] for r in rows), len(mentions))
        self.assertIn(b'"MentionVolumeSpike"', a.stdout)

    def test_over_long_lines_are_reported_and_skipped(self):
        good = '{"topic":"a","ts":1700000000000}'
        big = '{"topic":"a","ts":1700000000000,"text":"%s"}' % ("y" * 70000)
        huge = '{"topic":"a","ts":1700000000000,"text":"%s"}' % (
            "z" * (3 << 20))
        data = "\n".join([good, big, good, huge, good]) + "\n"
        path = self.write("in.jsonl", data.encode())
        out = replay(path, self.conf, "--scores")
        self.assertEqual(out.returncode, 0, out.stderr)
        err = out.stderr.decode()
        self.assertIn("%s:2: entry: %d bytes is over the limit 65536" %
                      (path, len(big)), err)
        self.assertIn("%s:4: entry: %d bytes is over the limit 65536" %
                      (path, len(huge)), err)
        self.assertIn("replayed 5 lines: 3 mentions, 2 rejected", err)
        rows = [json.loads(l) for l in out.stdout.splitlines()]
        self.assertEqual(sum(r["count"] for r in rows), 3)

    def test_stdin_and_empty_lines(self):
        data = b'\n{"topic":"a","ts":1700000000000}\r\n\n' \
               b'{"topic":"a","ts":1700000001000}'
        out = subprocess.run([TOCSIND, "--replay", "-", "-c", self.conf,
                              "--scores"], input=data, capture_output=True)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn(b"replayed 4 lines: 2 mentions, 0 rejected", out.stderr)
        rows = [json.loads(l) for l in out.stdout.splitlines()]
        self.assertEqual(sum(r["count"] for r in rows), 2)


if __name__ == "__main__":
    unittest.main()
