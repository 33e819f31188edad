"""The ingest read loop: reading ahead, flat and JSON entries, stopping in
the middle of a stream.

Real redis-server and the real daemon; the alerts it sends are compared
with what replay gives for the same mentions (same engine, no Redis).
"""

import json
import os
import subprocess
import time
import unittest

from tocsin_harness import (TOCSIND, TocsinCase, config, make_crisis_stream,
                            wait_for, write_stream)


def delivered(receiver):
    """The bodies accepted, one per delivery id, sorted."""
    seen = {}
    for req in receiver.all():
        if 200 <= req["status"] < 300:
            seen.setdefault(req["headers"]["x-tocsin-delivery"],
                            req["body"].decode())
    return sorted(seen.values())


class IngestReadAheadTest(TocsinCase):

    def setup_stream(self, flat, batch):
        now = int(time.time() * 1000)
        self.mentions = make_crisis_stream(now, crisis_start_min=100,
                                           crisis_len_min=4)
        self.rcv = self.receiver()
        conf = config(self.redis.url,
                      [{"name": "oncall", "url": self.rcv.url}],
                      extra_detection="catchup_max_age = 1800;")
        conf = conf.replace("block_ms = 200;",
                            "block_ms = 200; batch = %d;" % batch)
        write_stream(self.r, self.mentions, flat=flat)
        return self.daemon(conf)

    def replayed(self, conf):
        path = os.path.join(self.dir, "replay.jsonl")
        with open(path, "w") as f:
            for m in self.mentions:
                f.write(json.dumps(m) + "\n")
        out = subprocess.run([TOCSIND, "--replay", path, "-c", conf],
                             capture_output=True, check=True)
        return sorted(l for l in out.stdout.decode().splitlines() if l)

    def stop_midway_and_finish(self, flat):
        d = self.setup_stream(flat, batch=25)
        total = len(self.mentions)
        for fraction in (0.3, 0.7):
            d.start()
            self.wait_read(fraction, total)
            # SIGTERM commits what was processed; a batch read ahead and
            # not processed stays pending and is read again at restart.
            self.assertEqual(d.stop(), 0)
        d.start()
        wait_for(self.group_done, 60, what="all entries acked")
        want = self.replayed(d.conf)
        self.assertTrue(any('"MentionVolumeSpike"' in b for b in want))
        wait_for(lambda: len(delivered(self.rcv)) >= len(want), 30,
                 what="every event delivered")
        time.sleep(0.5)  # anything extra would arrive now
        self.assertEqual(d.stop(), 0)
        self.assertEqual(self.r.xlen("mentions:dead"), 0)
        # Nothing counted twice or missed: the events are replay's, byte
        # for byte.
        self.assertEqual(delivered(self.rcv), want)

    def test_json_stream_stopped_twice_midway(self):
        self.stop_midway_and_finish(flat=False)

    def test_flat_stream_stopped_twice_midway(self):
        self.stop_midway_and_finish(flat=True)


if __name__ == "__main__":
    unittest.main()
