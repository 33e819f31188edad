"""Integration tests of the demo tools: scripts/tocsin-feed and
scripts/tocsin-receiver.

Starts a private redis-server (unix socket only, no persistence) in a
temporary directory, runs tocsin-feed against it with small history/live
values and --speed, and checks the streams; starts tocsin-receiver on a free
port and POSTs signed alert bodies to it.  Every process started here is
killed at the end, pass or fail.

Run from tests/integ:  /usr/bin/python3 -m unittest -v test_tools
The scripts are found under $TOCSIN_SOURCE_DIR (default: two directories up).
"""

import hashlib
import hmac
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request

try:
    import redis
except ImportError:  # pragma: no cover - reported by the skip below
    redis = None

SRC = os.environ.get("TOCSIN_SOURCE_DIR") or os.path.abspath(
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
FEED = os.path.join(SRC, "scripts", "tocsin-feed")
RECEIVER = os.path.join(SRC, "scripts", "tocsin-receiver")
PY = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else \
    sys.executable

# 2026-01-15 13:00 UTC (14:00 in Paris): near the daily peak.
START_MS = 1768482000000
BRANDS = ["AirNova", "Canal Neuf", "Orbitel", "Fournil Dupré"]


def valid_mention(m):
    """True when m is a well-formed mention object."""
    if not isinstance(m, dict):
        return False
    if not isinstance(m.get("topic"), str) or not m["topic"]:
        return False
    if not isinstance(m.get("ts"), int) or m["ts"] <= 0:
        return False
    if not isinstance(m.get("text"), str):
        return False
    if not isinstance(m.get("followers", 0), int):
        return False
    s = m.get("sentiment")
    if s is not None and (not isinstance(s, (int, float)) or
                          not -1 <= s <= 1):
        return False
    return True


def decode_entry(fields):
    """A stream entry (bytes fields) as a mention dict, or None if it is not
    a well-formed mention in either format."""
    f = {k.decode(): v.decode() for k, v in fields.items()}
    if "json" in f:
        try:
            m = json.loads(f["json"])
        except ValueError:
            return None
        return m if valid_mention(m) else None
    m = dict(f)
    try:
        for k in ("ts", "followers"):
            if k in m:
                m[k] = int(m[k])
        if "sentiment" in m:
            m["sentiment"] = float(m["sentiment"])
    except ValueError:
        return None
    return m if valid_mention(m) else None


class ToolsTest(unittest.TestCase):
    procs = []

    @classmethod
    def setUpClass(cls):
        if redis is None:
            raise unittest.SkipTest("python3-redis is not installed")
        server = shutil.which("redis-server")
        if server is None:
            raise unittest.SkipTest("redis-server is not installed")
        cls.tmp = tempfile.mkdtemp(prefix="tocsin-tools-")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, True)
        cls.sock = os.path.join(cls.tmp, "r.sock")
        with open(os.path.join(cls.tmp, "redis.log"), "wb") as log:
            p = subprocess.Popen(
                [server, "--port", "0", "--unixsocket", cls.sock,
                 "--save", "", "--appendonly", "no", "--dir", cls.tmp],
                stdout=log, stderr=subprocess.STDOUT, cwd=cls.tmp)
        cls.addClassCleanup(cls._stop, p)
        cls.r = redis.Redis(unix_socket_path=cls.sock)
        cls.addClassCleanup(cls.r.close)
        deadline = time.monotonic() + 10
        while True:
            try:
                if os.path.exists(cls.sock) and cls.r.ping():
                    break
            except redis.RedisError:
                pass
            if p.poll() is not None or time.monotonic() > deadline:
                with open(os.path.join(cls.tmp, "redis.log")) as log:
                    raise RuntimeError("redis-server did not start: "
                                       + log.read()[-2000:])
            time.sleep(0.05)
        cls.url = "unix://" + cls.sock

    @staticmethod
    def _stop(p):
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)
        for f in (p.stdout, p.stderr):
            if f is not None:
                f.close()

    # -- helpers --------------------------------------------------------------
    def feed(self, *args, stream=None, timeout=30, check=True):
        """Run tocsin-feed; returns the CompletedProcess."""
        cmd = [PY, FEED]
        if "--jsonl" not in args:
            cmd += ["--redis", self.url, "--stream", stream or self.id()]
        cmd += [str(a) for a in args]
        r = subprocess.run(cmd, capture_output=True, timeout=timeout)
        if check and r.returncode != 0:
            self.fail("tocsin-feed %s failed (%d): %s" % (
                " ".join(cmd[2:]), r.returncode, r.stderr.decode()))
        return r

    def entries(self, stream):
        return [f for _, f in self.r.xrange(stream)]

    def mentions(self, stream):
        out = [decode_entry(f) for f in self.entries(stream)]
        self.assertNotIn(None, out, "a malformed entry in " + stream)
        return out

    def new_stream(self, name):
        key = "%s:%s" % (self.id().rsplit(".", 1)[-1], name)
        self.r.delete(key)
        return key

    # -- tocsin-feed ------------------------------------------------------------
    def test_help(self):
        for tool in (FEED, RECEIVER):
            r = subprocess.run([PY, tool, "--help"], capture_output=True,
                               timeout=10)
            self.assertEqual(r.returncode, 0)
            self.assertIn(b"usage:", r.stdout)

    def test_history_counts_and_fields(self):
        s = self.new_stream("h")
        r = self.feed("--history", 3600, "--seed", 1, "--start-ms", START_MS,
                      stream=s)
        ms = self.mentions(s)
        counts = {b: 0 for b in BRANDS}
        for m in ms:
            counts[m["topic"]] += 1
        # Expected at ~1.5x the mean rate: AirNova ~3600, Canal Neuf ~900,
        # Orbitel ~360, Fournil Dupré ~9.
        self.assertGreater(counts["AirNova"], 2000, counts)
        self.assertTrue(3.0 < counts["AirNova"] / counts["Canal Neuf"] < 5.3,
                        counts)
        self.assertTrue(7.0 < counts["AirNova"] / counts["Orbitel"] < 14.0,
                        counts)
        self.assertLess(counts["Fournil Dupré"], 40, counts)
        # History: time order, inside [start - 3600 s, start).
        ts = [m["ts"] for m in ms]
        self.assertEqual(ts, sorted(ts))
        self.assertGreaterEqual(ts[0], START_MS - 3600 * 1000)
        self.assertLess(ts[-1], START_MS)
        # Attributes.
        for m in ms:
            for k in ("id", "lang", "author", "url", "source", "text"):
                self.assertIsInstance(m.get(k), str, (k, m))
            self.assertIn(m["lang"], ("fr", "en"))
            self.assertGreaterEqual(m["followers"], 0)
        self.assertEqual(len({m["id"] for m in ms}), len(ms), "ids unique")
        langs = {m["lang"] for m in ms}
        self.assertEqual(langs, {"fr", "en"})
        self.assertGreater(len({m["source"] for m in ms}), 2)
        with_s = [m for m in ms if "sentiment" in m]
        self.assertTrue(0.75 < len(with_s) / len(ms) < 0.95,
                        "sentiment on most, not all, mentions")
        neg = sum(1 for m in with_s if m["sentiment"] < -0.05)
        self.assertTrue(0.08 < neg / len(with_s) < 0.22, neg / len(with_s))
        # Heavy-tailed followers: the max is far above the median.
        f = sorted(m["followers"] for m in ms)
        self.assertGreater(f[-1], 20 * f[len(f) // 2])
        self.assertIn(b"history 3600 s", r.stderr)
        self.assertIn(b"AirNova %d" % counts["AirNova"], r.stderr)

    def test_live_crisis(self):
        s = self.new_stream("c")
        t0 = time.monotonic()
        r = self.feed("--history", 0, "--live", 1200, "--speed", 400,
                      "--seed", 7, "--start-ms", START_MS,
                      "--crisis-brand", "airnova", "--crisis-at", 400,
                      "--crisis-duration", 400, "--crisis-factor", 10,
                      stream=s)
        wall = time.monotonic() - t0
        self.assertGreater(wall, 2.5, "paced at --speed (1200/400 = 3 s)")
        ms = self.mentions(s)
        ts = [m["ts"] for m in ms]
        self.assertEqual(ts, sorted(ts))
        self.assertGreaterEqual(ts[0], START_MS)
        self.assertLess(ts[-1], START_MS + 1200 * 1000)
        c0, c1 = START_MS + 400 * 1000, START_MS + 800 * 1000
        air = [m for m in ms if m["topic"] == "AirNova"]
        during = [m for m in air if c0 <= m["ts"] < c1]
        outside = [m for m in air if not c0 <= m["ts"] < c1]
        ratio = len(during) / max(len(outside) / 2.0, 1)
        self.assertTrue(7.0 < ratio < 14.0, (len(during), len(outside)))
        # Other brands are not affected.
        canal = [m for m in ms if m["topic"] == "Canal Neuf"]
        cd = sum(1 for m in canal if c0 <= m["ts"] < c1)
        self.assertLess(cd, 0.6 * len(canal) + 5)
        # Crisis content: mostly negative, complaint words, big accounts.
        scored = [m for m in during if "sentiment" in m]
        neg = sum(1 for m in scored if m["sentiment"] < -0.05)
        self.assertTrue(0.65 < neg / len(scored) < 0.85, neg / len(scored))
        words = ("panne", "rembours", "annul", "boycott", "outage", "refund",
                 "cancel")
        complaints = sum(1 for m in during
                         if any(w in m["text"].lower() for w in words))
        self.assertGreater(complaints / len(during), 0.5)
        self.assertTrue(any(m["followers"] >= 20000 for m in during))
        out_neg = [m for m in outside if "sentiment" in m]
        self.assertLess(sum(1 for m in out_neg if m["sentiment"] < -0.05)
                        / len(out_neg), 0.3)
        self.assertIn(b"live 1200 s", r.stderr)
        self.assertIn(b"[crisis %d]" % len(during), r.stderr)

    def test_flat_matches_json(self):
        sj, sf = self.new_stream("j"), self.new_stream("f")
        common = ("--history", 900, "--seed", 5, "--start-ms", START_MS,
                  "--malformed", 0)
        self.feed(*common, stream=sj)
        self.feed(*common, "--format", "flat", stream=sf)
        flat_entries = self.entries(sf)
        for f in flat_entries:
            self.assertNotIn(b"json", f)
            self.assertIn(b"topic", f)
            self.assertNotIn(b"tags", f, "no arrays in flat mode")
        js = self.mentions(sj)
        fl = self.mentions(sf)
        self.assertEqual(len(js), len(fl))
        self.assertTrue(any("tags" in m for m in js), "json mode has tags")
        for a, b in zip(js, fl):
            a = {k: v for k, v in a.items() if k != "tags"}
            self.assertEqual(set(a), set(b))
            for k, v in a.items():
                if isinstance(v, float):
                    self.assertAlmostEqual(v, b[k])
                else:
                    self.assertEqual(v, b[k], k)

    def test_determinism(self):
        a, b, c = (self.new_stream(x) for x in "abc")
        args = ("--history", 600, "--live", 120, "--speed", 1000,
                "--crisis-brand", "Orbitel", "--crisis-at", 10,
                "--start-ms", START_MS)
        self.feed(*args, "--seed", 42, stream=a)
        self.feed(*args, "--seed", 42, stream=b)
        self.feed(*args, "--seed", 43, stream=c)
        ea, eb, ec = self.entries(a), self.entries(b), self.entries(c)
        self.assertGreater(len(ea), 100)
        self.assertEqual(ea, eb)
        self.assertNotEqual(ea, ec)

    def test_malformed(self):
        for fmt in ("json", "flat"):
            s = self.new_stream("m" + fmt)
            r = self.feed("--history", 120, "--seed", 3, "--start-ms",
                          START_MS, "--malformed", 7, "--format", fmt,
                          stream=s)
            decoded = [decode_entry(f) for f in self.entries(s)]
            bad = decoded.count(None)
            self.assertEqual(bad, 7, fmt)
            self.assertGreater(len(decoded) - bad, 50)
            self.assertIn(b"malformed: 7 entries", r.stderr)
            for kind in (b"not-json", b"missing-topic", b"bad-ts",
                         b"sentiment-out-of-range", b"wrong-types"):
                self.assertIn(kind, r.stderr)

    def test_jsonl(self):
        s = self.new_stream("r")
        path = os.path.join(self.tmp, "replay.jsonl")
        args = ("--history", 600, "--seed", 9, "--start-ms", START_MS)
        self.feed(*args, stream=s)
        self.feed(*args, "--jsonl", path)
        with open(path, encoding="utf-8") as f:
            lines = [json.loads(x) for x in f]
        self.assertEqual(lines, self.mentions(s))
        r = self.feed(*args, "--jsonl", "-")
        self.assertEqual([json.loads(x) for x in r.stdout.splitlines()],
                         lines)
        self.assertEqual(self.r.exists("mentions"), 0,
                         "--jsonl writes nothing to Redis")

    def test_fill(self):
        for fmt in ("json", "flat"):
            s = self.new_stream("b" + fmt)
            r = self.feed("--fill", 5000, "--topics", 7, "--format", fmt,
                          "--seed", 1, stream=s)
            self.assertRegex(r.stdout.decode(),
                             r"fill: 5000 mentions over 7 topics .* "
                             r"mentions/s")
            ms = self.mentions(s)
            self.assertEqual(len(ms), 5000)
            self.assertEqual(len({m["topic"] for m in ms}), 7)
            self.assertTrue(all("sentiment" in m for m in ms))

    def test_bad_arguments(self):
        r = self.feed("--redis", "http://localhost/", "--history", 1,
                      check=False)
        self.assertEqual(r.returncode, 2)
        self.assertIn(b"--redis", r.stderr)
        r = self.feed("--crisis-brand", "Nope", check=False)
        self.assertEqual(r.returncode, 2)
        self.assertIn(b"unknown brand", r.stderr)

    # -- tocsin-receiver ----------------------------------------------------------
    def start_receiver(self, *args):
        """Start tocsin-receiver on a free port; returns (port, output path)."""
        out = os.path.join(self.tmp, "recv-%d.out" % len(self.procs))
        self.procs.append(out)
        with open(out, "wb") as f:
            p = subprocess.Popen([PY, RECEIVER, "--listen", "127.0.0.1:0"]
                                 + list(args), stdout=f,
                                 stderr=subprocess.PIPE)
        self.addCleanup(self._stop, p)
        ready, _, _ = select.select([p.stderr], [], [], 10)
        self.assertTrue(ready, "receiver did not start")
        line = p.stderr.readline().decode()
        self.assertIn("listening on http://127.0.0.1:", line)
        port = int(line.split("127.0.0.1:")[1].split("/")[0])
        return port, out

    @staticmethod
    def post(port, body, delivery, secret=None, sig=None):
        headers = {"Content-Type": "application/json",
                   "X-Tocsin-Delivery": delivery}
        if sig is None and secret is not None:
            t = str(int(time.time()))
            mac = hmac.new(secret.encode(), t.encode() + b"." + body,
                           hashlib.sha256).hexdigest()
            sig = "t=%s,v1=%s" % (t, mac)
        if sig is not None:
            headers["X-Tocsin-Signature"] = sig
        req = urllib.request.Request("http://127.0.0.1:%d/hook" % port,
                                     data=body, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status
        except urllib.error.HTTPError as e:
            return e.code

    def wait_output(self, path, needle, count=1):
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with open(path, encoding="utf-8") as f:
                text = f.read()
            if text.count(needle) >= count:
                return text
            time.sleep(0.05)
        self.fail("%r not seen %d times in receiver output:\n%s" % (
            needle, count, text))

    ALERT = {
        "version": "4", "status": "firing", "receiver": "oncall",
        "groupKey": "{}:{topic=\"AirNova\"}",
        "groupLabels": {"topic": "AirNova"},
        "commonLabels": {"alertname": "MentionVolumeSpike",
                         "topic": "AirNova", "severity": "critical"},
        "commonAnnotations": {}, "externalURL": "http://tocsin:9797",
        "alerts": [{
            "status": "firing",
            "labels": {"alertname": "MentionVolumeSpike", "topic": "AirNova",
                       "severity": "critical"},
            "annotations": {
                "summary": "AirNova: 412 mentions in 10 min (9.8x usual)",
                "description": "71% negative against a 12% baseline."},
            "startsAt": "2026-01-15T13:02:00Z",
            "endsAt": "0001-01-01T00:00:00Z", "fingerprint": "9f2c1e",
            "tocsin": {
                "window_seconds": 600, "observed": 412, "expected": 42.0,
                "ratio": 9.8, "negative_share": 0.71,
                "negative_baseline": 0.12, "score": 0.99,
                "samples": [
                    {"text": "Panne informatique chez AirNova, vols annulés",
                     "author": "InfosDirectFR", "followers": 152000,
                     "url": "https://twitter.com/InfosDirectFR/status/1"},
                    {"text": "AirNova cancelled my flight, no refund",
                     "author": "julie_m75", "followers": 310},
                    {"text": "third", "author": "a3", "followers": 1},
                    {"text": "FOURTH-NOT-SHOWN", "author": "a4"}]}}]}

    def test_receiver_signatures_and_dedup(self):
        port, out = self.start_receiver("--secret", "s3cret")
        body = json.dumps(self.ALERT).encode()
        self.assertEqual(self.post(port, body, "d-1", secret="s3cret"), 200)
        text = self.wait_output(out, "signature OK")
        for needle in ("FIRING", "AirNova", "MentionVolumeSpike", "critical",
                       "412 mentions in 10 min", "71% negative against",
                       "412 observed vs 42.0 expected", "x9.8",
                       "negative 71% vs 12% baseline", "score 0.99",
                       "@InfosDirectFR (152k followers)", "Panne informatique",
                       "@julie_m75 (310 followers)", "delivery d-1"):
            self.assertIn(needle, text)
        self.assertNotIn("FOURTH-NOT-SHOWN", text, "at most 3 samples")
        self.assertNotIn("\x1b[", text, "no colour when not a tty")
        # Same delivery id again: ignored.
        self.assertEqual(self.post(port, body, "d-1", secret="s3cret"), 200)
        self.wait_output(out, "duplicate delivery (ignored)")
        # Wrong secret, and no signature at all.
        self.assertEqual(self.post(port, body, "d-2", secret="wrong"), 200)
        self.wait_output(out, "BAD SIGNATURE")
        self.assertEqual(self.post(port, body, "d-3"), 200)
        text = self.wait_output(out, "BAD SIGNATURE", 2)
        self.assertEqual(text.count("signature OK"), 1)
        # Resolved, with most fields missing: still shown.
        minimal = {"status": "resolved", "alerts": [
            {"labels": {"topic": "Orbitel", "alertname": "NegativityShift"}}]}
        self.assertEqual(self.post(port, json.dumps(minimal).encode(), "d-4",
                                   secret="s3cret"), 200)
        text = self.wait_output(out, "RESOLVED")
        self.assertIn("Orbitel", text)
        self.assertIn("NegativityShift", text)
        self.assertEqual(self.post(port, b"{not json", "d-5"), 200)
        self.wait_output(out, "unparseable body")

    def test_receiver_fail_first_and_json(self):
        port, out = self.start_receiver("--fail-first", "2", "--json")
        body = json.dumps(self.ALERT, indent=2).encode()
        codes = [self.post(port, body, "x-1") for _ in range(3)]
        self.assertEqual(codes, [500, 500, 200])
        self.assertEqual(self.post(port, body, "x-1"), 200)  # duplicate
        self.assertEqual(self.post(port, b'{"status":"resolved"}', "x-2"),
                         200)
        text = self.wait_output(out, "resolved")
        lines = text.splitlines()
        self.assertEqual(len(lines), 2, text)
        self.assertEqual(json.loads(lines[0]), self.ALERT)


if __name__ == "__main__":
    unittest.main()
