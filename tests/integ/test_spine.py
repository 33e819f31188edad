"""The spine, end to end: Redis mention stream -> tocsind -> webhook.

Real redis-server, real HTTP receivers on loopback, the real daemon.
History is written before the daemon starts (timestamps up to now), so a
run takes seconds; the crisis sits in the last 15 minutes, where alerts are
still paged.
"""

import json
import os
import signal
import subprocess
import tempfile
import time
import unittest

from tocsin_harness import (TOCSIND, TocsinCase, config, make_crisis_stream,
                            wait_for, write_stream)

SECRET = "s3cret-for-tests"
CATCHUP = "catchup_max_age = 1800;"


def now_ms():
    return int(time.time() * 1000)


def replay_lines(conf_path, mentions, workdir):
    path = os.path.join(workdir, "replay.jsonl")
    with open(path, "w") as f:
        for m in mentions:
            f.write(json.dumps(m) + "\n")
    out = subprocess.run([TOCSIND, "--replay", path, "-c", conf_path],
                         capture_output=True, check=True)
    return [l for l in out.stdout.decode().splitlines() if l]


def by_delivery(receiver):
    """delivery id -> list of raw bodies accepted (2xx) for it."""
    seen = {}
    for req in receiver.all():
        if 200 <= req["status"] < 300:
            seen.setdefault(req["headers"]["x-tocsin-delivery"],
                            []).append(req["body"])
    return seen


def check_one_delivery_per_event(tc, deliveries):
    """Each alert event (status, alertname, startsAt) went out under one
    delivery id, always with the same bytes: deliveries maps a delivery
    id to the bodies accepted for it."""
    per_event = {}
    for delivery, bodies in deliveries.items():
        tc.assertEqual(len(set(bodies)), 1)
        b = json.loads(bodies[0])
        key = (b["status"], b["alerts"][0]["labels"]["alertname"],
               b["alerts"][0]["startsAt"])
        per_event.setdefault(key, set()).add(delivery)
    for key, ids in per_event.items():
        tc.assertEqual(len(ids), 1, key)


def events(receiver):
    """Unique accepted events, in arrival order, as (status, alertname,
    topic, raw body)."""
    out, seen = [], set()
    for req in receiver.all():
        if not 200 <= req["status"] < 300:
            continue
        d = req["headers"]["x-tocsin-delivery"]
        if d in seen:
            continue
        seen.add(d)
        b = json.loads(req["body"])
        a = b["alerts"][0]
        out.append((b["status"], a["labels"]["alertname"],
                    a["labels"]["topic"], req["body"]))
    return out


class SpineTest(TocsinCase):

    def crisis_setup(self, statuses=None, batch=1000, **kw):
        self.now = now_ms()
        self.mentions = make_crisis_stream(self.now, crisis_start_min=100,
                                           crisis_len_min=4, **kw)
        self.rcv = self.receiver(statuses=statuses, secret=SECRET)
        conf = config(self.redis.url,
                      [{"name": "oncall", "url": self.rcv.url,
                        "secret": SECRET,
                        "extra": " backoff_min_ms = 50;"
                                 " backoff_max_ms = 200;"}],
                      extra_detection=CATCHUP)
        conf = conf.replace("block_ms = 200;",
                            "block_ms = 200; batch = %d;" % batch)
        return self.daemon(conf)

    def wait_all_read(self, timeout=60):
        wait_for(self.group_done, timeout, what="all entries acked")

    def wait_resolved(self):
        wait_for(lambda: sum(1 for e in events(self.rcv)
                             if e[0] == "resolved") >= 1, 30,
                 what="a resolved event")

    def assert_live_is_replay(self, d):
        """The receiver got exactly what replay gives for the stream."""
        live = sorted(e[3].decode() for e in events(self.rcv))
        self.assertEqual(live, sorted(replay_lines(d.conf, self.mentions,
                                                   self.dir)))

    def test_crisis_fires_once_resolves_once_signed(self):
        d = self.crisis_setup()
        write_stream(self.r, self.mentions)
        d.start()
        self.wait_all_read()

        def all_resolved():
            evs = events(self.rcv)
            fired = {e[1] for e in evs if e[0] == "firing"}
            return fired and fired == {e[1] for e in evs
                                       if e[0] == "resolved"}
        # A negativity shift resolves once the last 5 buckets' share is
        # back near usual: the last buckets close on the wall clock.
        wait_for(all_resolved, 120, what="every alert resolved")
        time.sleep(1.0)  # anything extra would arrive now
        evs = events(self.rcv)
        kinds = {}
        for status, name, topic, _ in evs:
            self.assertEqual(topic, "AirNova", "calm topics stay quiet")
            kinds.setdefault(name, []).append(status)
        self.assertIn("MentionVolumeSpike", kinds)
        for name, sts in kinds.items():
            self.assertEqual(sts, ["firing", "resolved"], name)
        # Every request is signed; bodies have the Alertmanager v4 shape.
        for req in self.rcv.all():
            self.assertTrue(self.rcv.check_signature(req["headers"],
                                                     req["body"]))
            self.assertEqual(req["headers"]["content-type"],
                             "application/json")
        fire = next(json.loads(e[3]) for e in evs
                    if e[0] == "firing" and e[1] == "MentionVolumeSpike")
        self.assertEqual(fire["version"], "4")
        self.assertEqual(fire["receiver"], "oncall")
        self.assertEqual(fire["externalURL"], "http://tocsin.test")
        a = fire["alerts"][0]
        self.assertEqual(a["labels"]["severity"], "critical")
        self.assertIn("mentions in", a["annotations"]["description"])
        self.assertIn("negative", a["annotations"]["description"])
        ev = a["tocsin"]
        self.assertGreater(ev["observed"], 3 * ev["expected"])
        self.assertGreater(ev["negative_share"], 0.4)
        self.assertLess(ev["negative_baseline"], 0.3)
        self.assertTrue(1 <= len(ev["samples"]) <= 5)
        fol = [s["followers"] for s in ev["samples"]]
        self.assertEqual(fol, sorted(fol, reverse=True))
        # Fired within a minute of the crisis onset (event time).
        onset = self.now - (120 - 106) * 60000
        starts = a["startsAt"]
        t = time.mktime(time.strptime(starts[:19], "%Y-%m-%dT%H:%M:%S")) \
            - time.timezone
        self.assertLessEqual(t * 1000 - onset, 60000)
        self.assertEqual(d.stop(), 0)

    def test_calm_stream_sends_nothing(self):
        d = self.crisis_setup(crisis=False)
        write_stream(self.r, self.mentions)
        d.start()
        self.wait_all_read()
        time.sleep(1.5)
        self.assertEqual(self.rcv.all(), [])
        self.assertEqual(d.stop(), 0)

    def test_old_crisis_is_counted_not_paged(self):
        self.now = now_ms()
        mentions = make_crisis_stream(self.now, crisis_start_min=50)
        rcv = self.receiver(secret=SECRET)
        d = self.daemon(config(self.redis.url, [{"name": "oncall",
                                                 "url": rcv.url}]))
        write_stream(self.r, mentions)
        d.start()
        wait_for(self.group_done, 60, what="all entries acked")
        time.sleep(1.0)
        self.assertEqual(rcv.all(), [])
        self.assertEqual(d.stop(), 0)
        self.assertRegex(d.stderr(), r"past_crises=[1-9]")

    def test_malformed_entries_go_to_dead_letters(self):
        d = self.daemon(config(self.redis.url))
        good = {"topic": "Orbitel", "ts": now_ms(), "sentiment": 0.2}
        bad = [
            ({"json": "{not json"}, "not JSON"),
            ({"json": json.dumps({"text": "no topic"})}, "missing topic"),
            ({"json": json.dumps({"topic": "x", "ts": "yesterday"})},
             'ts: cannot parse "yesterday"'),
            ({"json": json.dumps({"topic": "x", "sentiment": 7})},
             "sentiment: 7 is outside [-1, 1]"),
            ({"json": json.dumps({"topic": "x", "followers": "many"})},
             "followers: expected an integer, got a string"),
            ({"json": json.dumps({"topics": "x"})},
             "topics: expected an array of strings"),
            ({"topic": "x", "sentiment": "bad"},
             'sentiment: expected a number, got "bad"'),
            ({"topic": "x", "text": "y" * 20000},
             "text: 20000 bytes is over the limit 16384"),
            ({"json": json.dumps([1, 2])}, "not a JSON object"),
            ({"json": json.dumps({"topic": "x", "ts": now_ms() + 3600000})},
             "in the future"),
        ]
        self.r.xadd("mentions", {"json": json.dumps(good)})
        ids = [self.r.xadd("mentions", f) for f, _ in bad]
        self.r.xadd("mentions", {k: str(v) for k, v in good.items()})
        d.start()
        wait_for(self.group_done, 30, what="all entries acked")
        dead = self.r.xrange("mentions:dead")
        self.assertEqual(len(dead), len(bad))
        for (fields, reason), (_, entry), sid in zip(bad, dead, ids):
            self.assertIn(reason, entry[b"tocsin_reason"].decode())
            self.assertEqual(entry[b"tocsin_source_id"], sid)
        # The daemon kept going and learned from the good entries.
        self.assertIsNone(d.proc.poll())
        wait_for(lambda: self.r.hexists("tocsin:state:topics", "Orbitel"),
                 10, what="state of the good topic")
        self.assertEqual(d.stop(), 0)
        self.assertIn("INGEST-DEAD", d.stderr())

    def test_receiver_500_then_200_gets_each_event_once(self):
        d = self.crisis_setup(statuses=[500, 500, 503])
        write_stream(self.r, self.mentions)
        d.start()
        self.wait_all_read()
        wait_for(lambda: len(events(self.rcv)) >= 2, 30,
                 what="events delivered")
        wait_for(lambda: self.r.xlen("tocsin:outbox") == 0, 30,
                 what="outbox drained")
        reqs = self.rcv.all()
        self.assertGreaterEqual(len(reqs), 5)
        self.assertEqual(reqs[0]["status"], 500)
        for delivery, bodies in by_delivery(self.rcv).items():
            self.assertEqual(len(bodies), 1, delivery)
        # The failed attempts carried the same delivery id as the success.
        failed_ids = {r["headers"]["x-tocsin-delivery"] for r in reqs
                      if r["status"] >= 500}
        self.assertTrue(failed_ids <= set(by_delivery(self.rcv)))
        self.assertEqual(d.stop(), 0)

    def test_replay_output_equals_what_live_sent(self):
        d = self.crisis_setup()
        write_stream(self.r, self.mentions)
        d.start()
        self.wait_all_read()
        self.wait_resolved()
        time.sleep(1.0)
        self.assertEqual(d.stop(), 0)
        live = [e[3].decode() for e in events(self.rcv)]
        replayed = replay_lines(d.conf, self.mentions, self.dir)
        self.assertEqual(sorted(live), sorted(replayed))
        # Same input, same config: byte-identical output.
        self.assertEqual(replayed,
                         replay_lines(d.conf, self.mentions, self.dir))

    def test_sigkill_mid_stream_loses_nothing_and_sends_once(self):
        d = self.crisis_setup(batch=20)
        write_stream(self.r, self.mentions)
        total = len(self.mentions)
        kills = 0
        for fraction in (0.25, 0.6, 0.85):
            d.start()
            self.wait_read(fraction, total)
            d.kill()
            kills += 1
        d.start()
        self.wait_all_read()
        self.wait_resolved()
        wait_for(lambda: self.r.xlen("tocsin:outbox") == 0, 30,
                 what="outbox drained")
        self.assertEqual(d.stop(), 0)
        # Each event reached the receiver under one delivery id, with the
        # bytes replay gives: nothing counted twice or missed.
        check_one_delivery_per_event(self, by_delivery(self.rcv))
        self.assert_live_is_replay(d)
        self.assertEqual(kills, 3)

    def test_redis_restart_mid_stream_is_survived(self):
        d = self.crisis_setup(batch=20)
        write_stream(self.r, self.mentions)
        total = len(self.mentions)
        d.start()

        def half_read():
            for g in self.r.xinfo_groups("mentions"):
                return g["entries-read"] and g["entries-read"] >= total / 2
            return False
        wait_for(half_read, 30, step=0.002, what="progress")
        self.redis.restart(down_seconds=1.0)
        self.r = self.redis.client()
        self.wait_all_read()
        self.wait_resolved()
        wait_for(lambda: self.r.xlen("tocsin:outbox") == 0, 30,
                 what="outbox drained")
        self.assertIsNone(d.proc.poll(), "tocsind survived")
        self.assertEqual(d.stop(), 0)
        self.assertIn("INGEST-RECONNECT", d.stderr())
        self.assert_live_is_replay(d)

    def test_entries_of_a_dead_consumer_are_claimed(self):
        d = self.crisis_setup()
        write_stream(self.r, self.mentions)
        # A consumer "ghost" read everything and died before acking.
        self.r.xgroup_create("mentions", "tocsin", id="0")
        taken = self.r.xreadgroup("tocsin", "ghost", {"mentions": ">"})
        self.assertEqual(len(taken[0][1]), len(self.mentions))
        d.start()
        self.wait_all_read()  # claimed after claim_idle_ms (2 s)
        self.wait_resolved()
        self.assertEqual(d.stop(), 0)
        self.assertIn("INGEST-CLAIM", d.stderr())
        self.assert_live_is_replay(d)

    def test_flat_fields_give_the_same_alerts_as_json(self):
        d = self.crisis_setup()
        write_stream(self.r, self.mentions, flat=True)
        d.start()
        self.wait_all_read()
        self.wait_resolved()
        time.sleep(1.0)
        self.assertEqual(d.stop(), 0)
        self.assertEqual(self.r.xlen("mentions:dead"), 0)
        self.assert_live_is_replay(d)

    def test_waits_for_redis_at_start(self):
        self.redis.stop()
        d = self.daemon(config(self.redis.url)).start()
        time.sleep(0.8)
        self.assertIsNone(d.proc.poll())
        self.redis.start()
        self.r = self.redis.client()
        wait_for(lambda: self.r.exists("mentions"), 15,
                 what="group created")
        self.assertEqual(d.stop(), 0)


class CommandLineTest(unittest.TestCase):

    def test_check_config_ok_and_errors(self):
        with tempfile.TemporaryDirectory() as tmp:
            good = os.path.join(tmp, "good.conf")
            with open(good, "w") as f:
                f.write('redis = { url = "redis://127.0.0.1:6379"; };\n')
            out = subprocess.run([TOCSIND, "-t", "-c", good],
                                 capture_output=True, text=True)
            self.assertEqual(out.returncode, 0)
            self.assertEqual(out.stdout, "configuration OK\n")
            bad = os.path.join(tmp, "bad.conf")
            with open(bad, "w") as f:
                f.write('redis = { url = "redis://127.0.0.1:6379"; };\n'
                        'detection = { bucket = 0; };\n'
                        'detecton = { };\n')
            for args in (["-t", "-c", bad], ["-c", bad]):
                out = subprocess.run([TOCSIND] + args, capture_output=True,
                                     text=True)
                self.assertEqual(out.returncode, 2)
                self.assertIn(bad + ":2: detection.bucket: 0 is below the "
                              "minimum 1", out.stderr)
                self.assertIn(bad + ':3: unknown key "detecton" (did you '
                              'mean "detection"?)', out.stderr)

    def test_replay_rejects_bad_lines_and_goes_on(self):
        with tempfile.TemporaryDirectory() as tmp:
            conf = os.path.join(tmp, "t.conf")
            with open(conf, "w") as f:
                f.write('detection = { bucket = 60; };\n')
            data = '{"topic":"a","ts":1700000000000}\nnope\n' \
                   '{"topic":"a"}\n{"topic":"a","ts":1700000001000}\n'
            out = subprocess.run([TOCSIND, "--replay", "-", "-c", conf,
                                  "--scores"], input=data,
                                 capture_output=True, text=True)
            self.assertEqual(out.returncode, 0)
            self.assertIn("-:2: not JSON", out.stderr)
            self.assertIn("-:3: ts: missing", out.stderr)
            rows = [json.loads(l) for l in out.stdout.splitlines()]
            self.assertEqual(sum(r["count"] for r in rows), 2)
            for r in rows:
                for k in ("topic", "ts", "count", "negative",
                          "volume_score", "negativity_score"):
                    self.assertIn(k, r)
                self.assertTrue(0 <= r["volume_score"] <= 1)


if __name__ == "__main__":
    unittest.main()
