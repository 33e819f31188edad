"""Upgrades keep the baselines: saved state from another version is rebuilt
from the mention streams' history, not relearned from nothing.

Real redis-server, real HTTP receiver on loopback, the real daemon.  An
upgrade is simulated by changing the version word of the saved meta blob
(or of every saved topic) in Redis between two runs.

The history ends a few minutes ahead of the wall clock (the daemon takes
up to 5 minutes), so the idle daemon never moves event time on by the
clock during a test: the state then depends on the entries only, and a
rebuilt state can be compared with the one an uninterrupted run saved.
"""

import os
import socket
import struct
import time
import unittest

from test_spine import by_delivery as raw_by_delivery
from test_spine import check_one_delivery_per_event, replay_lines
from tocsin_harness import (TocsinCase, config, make_crisis_stream, wait_for,
                            write_stream)

META = "tocsin:state:meta"
TOPICS = "tocsin:state:topics"


def by_delivery(receiver):
    """delivery id -> list of bodies (str) accepted (2xx) for it."""
    return {d: [b.decode() for b in bodies]
            for d, bodies in raw_by_delivery(receiver).items()}


def other_version(blob):
    """blob with its leading version word changed (an older layout)."""
    v = struct.unpack("<I", blob[:4])[0]
    return struct.pack("<I", v - 1 if v > 1 else v + 100) + blob[4:]


class RelearnTest(TocsinCase):

    def setup_daemon(self):
        self.end = int(time.time() * 1000) + 200000
        self.mentions = make_crisis_stream(self.end, crisis_start_min=100,
                                           crisis_len_min=4)
        self.rcv = self.receiver()
        conf = config(self.redis.url,
                      [{"name": "oncall", "url": self.rcv.url,
                        "extra": " backoff_min_ms = 50;"
                                 " backoff_max_ms = 200;"}],
                      extra_detection="catchup_max_age = 1800;")
        return self.daemon(conf)

    def wait_quiet(self, d, events):
        """All entries acked, `events` accepted, outbox drained."""
        wait_for(self.group_done, 60, what="all entries acked")
        wait_for(lambda: len(by_delivery(self.rcv)) >= events, 30,
                 what="%d events delivered" % events)
        wait_for(lambda: self.r.xlen("tocsin:outbox") == 0, 30,
                 what="outbox drained")

    def upgrade_rebuilds_state(self, corrupt, two_streams=False):
        d = self.setup_daemon()
        expected = replay_lines(d.conf, self.mentions, self.dir)
        self.assertTrue(any('"resolved"' in l for l in expected))
        if two_streams:
            # AirNova in one stream, the others in another: read in turns.
            with open(d.conf) as f:
                conf = f.read()
            with open(d.conf, "w") as f:
                f.write(conf.replace('streams = ["mentions"];',
                                     'streams = ["mentions", "other"];'))
            write_stream(self.r, [m for m in self.mentions
                                  if m["topic"] == "AirNova"])
            write_stream(self.r, [m for m in self.mentions
                                  if m["topic"] != "AirNova"], key="other")
            d.start()
            for key in ("mentions", "other"):
                wait_for(lambda: self.group_done(key), 60,
                         what="all entries acked")
        else:
            write_stream(self.r, self.mentions)
            d.start()
            self.wait_quiet(d, len(expected))
        time.sleep(1.0)  # anything extra would arrive now
        self.assertEqual(d.stop(), 0)
        first = by_delivery(self.rcv)
        if not two_streams:
            self.assertEqual(sorted(b[0] for b in first.values()),
                             sorted(expected))
        saved = self.r.hgetall(TOPICS)
        self.assertEqual(len(saved), 3)
        corrupt()
        sock_path = os.path.join(self.dir, "notify.sock")
        ns = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        ns.bind(sock_path)
        ns.settimeout(0.2)
        d.env = {"NOTIFY_SOCKET": sock_path}
        d.start()
        wait_for(lambda: "rebuilt 3 topics" in d.stderr(), 60,
                 what="STATE-REBUILD done")
        notes = []
        try:
            while True:
                notes.append(ns.recv(4096).decode())
        except socket.timeout:
            pass
        ns.close()
        # systemd hears of the rebuild (start-up timeout extended, watchdog
        # fed) before READY=1.
        ready = next(i for i, m in enumerate(notes) if "READY=1" in m)
        busy = [i for i, m in enumerate(notes)
                if "STATUS=rebuilding state from history" in m and
                "EXTEND_TIMEOUT_USEC=" in m and "WATCHDOG=1" in m]
        self.assertTrue(busy and busy[0] < ready, notes)
        wait_for(lambda: self.r.xlen("tocsin:outbox") == 0, 30,
                 what="outbox drained")
        time.sleep(1.0)
        self.assertEqual(d.stop(), 0)
        log = d.stderr()
        self.assertIn("STATE-REBUILD", log)
        self.assertRegex(log, r"rebuilt 3 topics from %d entries"
                         % len(self.mentions))
        # The rebuilt baselines, alerts and samples are the state the
        # uninterrupted run had saved, byte for byte.
        self.assertEqual(self.r.hgetall(TOPICS), saved)
        # Nothing was sent again.
        self.assertEqual(by_delivery(self.rcv), first)
        for delivery, bodies in first.items():
            self.assertEqual(len(bodies), 1, delivery)

    def test_meta_from_another_version_is_rebuilt_from_history(self):
        def corrupt():
            self.r.set(META, other_version(self.r.get(META)))
        self.upgrade_rebuilds_state(corrupt)

    def test_topics_from_another_version_are_rebuilt_from_history(self):
        def corrupt():
            for k, v in self.r.hgetall(TOPICS).items():
                self.r.hset(TOPICS, k, other_version(v))
        self.upgrade_rebuilds_state(corrupt)

    def test_two_streams_rebuilt_in_turns_as_the_group_reads(self):
        def corrupt():
            self.r.set(META, other_version(self.r.get(META)))
        self.upgrade_rebuilds_state(corrupt, two_streams=True)

    def test_another_time_zone_rebuilds_from_history(self):
        """Hours and weekends learned in UTC would be read wrong in New
        York: with detection.timezone changed, the saved state is refused
        and rebuilt from the streams, under the new zone; nothing is sent
        twice."""
        d = self.setup_daemon()
        expected = replay_lines(d.conf, self.mentions, self.dir)
        write_stream(self.r, self.mentions)
        d.start()
        self.wait_quiet(d, len(expected))
        self.assertEqual(d.stop(), 0)
        first = by_delivery(self.rcv)
        self.assertNotIn(b"America/New_York", self.r.get(META))
        with open(d.conf) as f:
            conf = f.read()
        self.assertIn("catchup_max_age = 1800;", conf)
        with open(d.conf, "w") as f:
            f.write(conf.replace("catchup_max_age = 1800;",
                                 "catchup_max_age = 1800;"
                                 ' timezone = "America/New_York";'))
        d.start()
        wait_for(lambda: "rebuilt 3 topics" in d.stderr(), 60,
                 what="STATE-REBUILD done")
        wait_for(lambda: self.r.xlen("tocsin:outbox") == 0, 30,
                 what="outbox drained")
        self.assertEqual(d.stop(), 0)
        self.assertIn("detection.timezone; rebuilding", d.stderr())
        self.assertIn(b"America/New_York", self.r.get(META))
        again = by_delivery(self.rcv)
        for delivery, bodies in first.items():
            self.assertEqual(again[delivery], bodies, delivery)
        for delivery, bodies in again.items():
            self.assertEqual(len(bodies), 1, delivery)

    def test_killed_mid_stream_upgraded_pending_kept_sent_once(self):
        """Killed mid-stream, upgraded, restarted with entries pending: the
        alerts are those of an uninterrupted run (replay), and no event is
        sent under two delivery ids."""
        d = self.setup_daemon()
        with open(d.conf) as f:
            conf = f.read()
        with open(d.conf, "w") as f:
            f.write(conf.replace("block_ms = 200;",
                                 "block_ms = 200; batch = 20;"))
        replayed = sorted(replay_lines(d.conf, self.mentions, self.dir))
        self.assertTrue(any('"resolved"' in l for l in replayed))
        write_stream(self.r, self.mentions)
        total = len(self.mentions)
        d.start()
        self.wait_read(0.8, total)
        d.kill()
        # More entries read by this consumer and not acked when it died.
        got = self.r.xreadgroup("tocsin", "test", {"mentions": ">"},
                                count=40)
        self.assertEqual(len(got[0][1]), 40)
        pending = self.r.xpending("mentions", "tocsin")["pending"]
        self.r.set(META, other_version(self.r.get(META)))
        d.start()
        self.wait_quiet(d, len(replayed))
        time.sleep(1.0)
        self.assertEqual(d.stop(), 0)
        log = d.stderr()
        self.assertIn("(%d entries pending stay with the group)" % pending,
                      log)
        self.assertRegex(log, r"rebuilt 3 topics from \d+ entries "
                         r"\(\d+ used, %d pending" % pending)
        check_one_delivery_per_event(self, by_delivery(self.rcv))
        live = sorted(b[0] for b in by_delivery(self.rcv).values())
        self.assertEqual(live, replayed)


if __name__ == "__main__":
    unittest.main()
