"""Running tocsind like a well-made daemon (issue 3), end to end.

Real redis-server, real HTTP receivers, the real daemon with private
control/publish/http addresses, the real tocsinctl, libnanomsg subscribers,
promtool, systemd-analyze and cmake --install.  Nothing is mocked.
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.request

from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tocsin_harness import (BUILD, SRC, TOCSINCTL, Subscriber, TocsinCase,
                            config, free_port, make_crisis_stream, wait_for,
                            write_stream)

SECRET = "s3cret-for-ops"
CATCHUP = "catchup_max_age = 1800;"


def now_ms():
    return int(time.time() * 1000)


def http_get(url):
    """(status, body text)."""
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


class OpsCase(TocsinCase):

    def crisis_daemon(self, statuses=None, crisis_start_min=116,
                      receivers=None):
        """A daemon with one signed receiver, and a stream whose crisis on
        AirNova is still going on at the end (so its alert stays active)."""
        self.now = now_ms()
        self.mentions = make_crisis_stream(
            self.now, crisis_start_min=crisis_start_min, crisis_len_min=4)
        self.rcv = self.receiver(statuses=statuses, secret=SECRET)
        recv = receivers or [{"name": "oncall", "url": self.rcv.url,
                              "secret": SECRET,
                              "extra": " backoff_min_ms = 50;"
                                       " backoff_max_ms = 200;"}]
        conf = config(self.redis.url, recv, extra_detection=CATCHUP)
        return self.daemon(conf)

    def wait_ready(self, d):
        def ok():
            if d.crashed():
                raise AssertionError("tocsind exited:\n" + d.stderr()[-3000:])
            r = d.ctl("--json", "status", timeout=30)
            return r.returncode == 0 and json.loads(r.stdout)["ready"]
        wait_for(ok, 30, 0.1, what="tocsind ready")

    def wait_firing(self):
        def firing():
            for req in self.rcv.all():
                b = json.loads(req["body"])
                if b.get("status") == "firing" and \
                        b["alerts"][0]["labels"]["topic"] == "AirNova":
                    return b
            return None
        return wait_for(firing, 60, what="a firing alert at the receiver")

    def ctl_json(self, d, *args):
        r = d.ctl("--json", *args)
        self.assertEqual(r.returncode, 0, r.stderr)
        return json.loads(r.stdout)


class TocsinctlTest(OpsCase):

    def test_status_topics_alerts_against_a_running_daemon(self):
        d = self.crisis_daemon()
        write_stream(self.r, self.mentions)
        d.start()
        self.wait_firing()
        wait_for(self.group_done, 30, what="stream read and acked")

        st = self.ctl_json(d, "status")
        self.assertTrue(st["ok"])
        self.assertTrue(st["ready"])
        self.assertEqual(st["pid"], d.proc.pid)
        self.assertEqual(st["control"], d.sockets["control"])
        self.assertEqual(st["publish"], d.sockets["publish"])
        self.assertEqual(st["ingest"]["entries"], len(self.mentions))
        self.assertEqual(st["ingest"]["topics"], 3)
        self.assertGreaterEqual(st["ingest"]["firing"], 1)
        self.assertEqual(st["ingest"]["duplicates"], 0)
        [s] = st["streams"]
        self.assertEqual((s["stream"], s["length"], s["pending"], s["lag"],
                          s["dead_letters"]),
                         ("mentions", len(self.mentions), 0, 0, 0))
        [rc] = st["receivers"]
        self.assertEqual(rc["name"], "oncall")
        self.assertGreaterEqual(rc["sent"], 1)
        self.assertGreater(rc["last_success_ms"], self.now - 60000)
        self.assertIn("outbox_depth", st)

        table = d.ctl("status")
        self.assertEqual(table.returncode, 0, table.stderr)
        self.assertIn("STREAM", table.stdout)
        self.assertRegex(table.stdout, r"mentions\s+%d\s+0\s+0\s+0" %
                         len(self.mentions))
        self.assertRegex(table.stdout, r"oncall\s+\d+\s+0\s+0\s+\S+ ago")

        tp = self.ctl_json(d, "topics", "--top", "2")
        self.assertEqual(tp["total"], 3)
        self.assertEqual(len(tp["topics"]), 2)
        first = tp["topics"][0]
        self.assertEqual(first["topic"], "AirNova")
        self.assertTrue(first["volume_firing"])
        self.assertGreater(first["rate_per_min"], first["baseline_per_min"])
        table = d.ctl("topics")
        self.assertEqual(table.returncode, 0, table.stderr)
        for t in ("AirNova", "Canal Neuf", "Orbitel"):
            self.assertIn(t, table.stdout)

        al = self.ctl_json(d, "alerts")
        names = {(a["topic"], a["alertname"]) for a in al["alerts"]}
        self.assertIn(("AirNova", "MentionVolumeSpike"), names)
        a = [a for a in al["alerts"] if a["alertname"] ==
             "MentionVolumeSpike"][0]
        self.assertIn(a["severity"], ("critical", "warning"))
        self.assertTrue(a["summary"].startswith("AirNova: volume"))
        table = d.ctl("alerts")
        self.assertEqual(table.returncode, 0, table.stderr)
        self.assertRegex(table.stdout, r"AirNova\s+MentionVolumeSpike")
        self.assertEqual(d.stop(), 0)

    def test_no_alerts_and_bad_usage(self):
        d = self.daemon(config(self.redis.url)).start()
        self.wait_ready(d)
        r = d.ctl("alerts")
        self.assertEqual((r.returncode, r.stdout), (0, "no active alerts\n"))
        self.assertEqual(self.ctl_json(d, "alerts")["alerts"], [])
        self.assertEqual(d.ctl("frobnicate").returncode, 2)
        self.assertEqual(d.ctl("topics", "--top", "0").returncode, 2)
        self.assertEqual(d.ctl("test-receiver").returncode, 2)
        self.assertEqual(d.ctl("status", "extra").returncode, 2)
        r = subprocess.run([TOCSINCTL, "-s", d.sockets["control"], "status"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("ready", r.stdout)
        self.assertEqual(d.stop(), 0)

    def test_not_running_is_exit_3(self):
        d = self.daemon(config(self.redis.url))
        r = d.ctl("status")
        self.assertEqual(r.returncode, 3)
        self.assertIn("not running", r.stderr)
        d.start()
        self.wait_ready(d)
        self.assertEqual(d.stop(), 0)
        # The socket file is gone with the daemon.
        self.assertFalse(os.path.exists(d.sockets["control"][6:]))
        r = d.ctl("status")
        self.assertEqual(r.returncode, 3)
        self.assertIn("not running", r.stderr)
        # A stale socket file (daemon killed) is no daemon either.
        d.start()
        self.wait_ready(d)
        d.kill()
        r = d.ctl("status")
        self.assertEqual(r.returncode, 3, r.stderr)
        # ... and does not keep a new one from starting.
        d.start()
        self.wait_ready(d)
        self.assertEqual(d.stop(), 0)
        r = subprocess.run([TOCSINCTL, "-s", "ipc://%s/none.sock" % self.dir,
                            "reload"], capture_output=True, text=True,
                           timeout=30)
        self.assertEqual(r.returncode, 3)

    def test_control_socket_is_private_and_single(self):
        d = self.daemon(config(self.redis.url)).start()
        self.wait_ready(d)
        mode = os.stat(d.sockets["control"][6:]).st_mode & 0o777
        self.assertEqual(mode, 0o600)
        with open(d.conf) as f:
            second = self.daemon(f.read(), name="second").start()
        self.assertEqual(second.proc.wait(30), 1)
        second.intended = True
        self.assertIn("CONTROL-BIND", second.stderr())
        self.assertIn("another tocsind", second.stderr())
        # The first one is unharmed.
        self.assertEqual(d.ctl("status").returncode, 0)
        self.assertEqual(d.stop(), 0)

    def test_test_receiver(self):
        good = self.receiver(secret=SECRET)
        bad = self.receiver(statuses=[500, 500])
        d = self.daemon(config(self.redis.url, [
            {"name": "good", "url": good.url, "secret": SECRET},
            {"name": "bad", "url": bad.url}])).start()
        self.wait_ready(d)
        r = d.ctl("test-receiver", "good")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("delivered", r.stdout)
        [req] = good.all()
        self.assertTrue(req["headers"]["x-tocsin-delivery"].startswith(
            "test-"))
        self.assertTrue(good.check_signature(req["headers"], req["body"]))
        body = json.loads(req["body"])
        self.assertEqual(body["receiver"], "good")
        self.assertEqual(body["alerts"][0]["labels"]["topic"], "tocsin-test")

        r = d.ctl("test-receiver", "bad")
        self.assertEqual(r.returncode, 1)
        self.assertIn("500", r.stderr)
        r = d.ctl("--json", "test-receiver", "bad")
        self.assertEqual(r.returncode, 1)
        self.assertFalse(json.loads(r.stdout)["ok"])
        self.assertEqual(len(bad.all()), 2)

        r = d.ctl("test-receiver", "nobody")
        self.assertEqual(r.returncode, 1)
        self.assertIn('no receiver called "nobody"', r.stderr)
        self.assertEqual(d.stop(), 0)


class HeldReceiver:
    """A local HTTP receiver that holds each request unanswered until
    release() (or 60 s), then answers 200."""

    def __init__(self):
        self.got = threading.Event()
        self.go = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                outer.got.set()
                outer.go.wait(60)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d/hook" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever,
                         daemon=True).start()

    def release(self):
        self.go.set()

    def stop(self):
        self.go.set()
        self.server.shutdown()
        self.server.server_close()


class TestReceiverAsyncTest(OpsCase):

    def test_ingestion_goes_on_while_a_test_receiver_waits(self):
        slow = HeldReceiver()
        self.addCleanup(slow.stop)
        d = self.daemon(config(self.redis.url, [
            {"name": "slow", "url": slow.url,
             "extra": " timeout_ms = 60000;"}])).start()
        self.wait_ready(d)
        ctl = subprocess.Popen(
            [TOCSINCTL, "-c", d.conf, "--timeout", "120", "test-receiver",
             "slow"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True)
        try:
            self.assertTrue(slow.got.wait(30), "the test never reached it")
            # The receiver holds the test unanswered: mentions written now
            # are still read and acked.
            for i in range(20):
                self.r.xadd("mentions", {"json": json.dumps({
                    "topic": "AirNova", "ts": now_ms(), "id": "held-%d" % i,
                    "text": "on time", "lang": "en", "sentiment": 0.1})})
            wait_for(self.group_done, 30, what="mentions acked during the "
                                               "test-receiver call")
            self.assertFalse(slow.go.is_set())
            self.assertIsNone(ctl.poll(), "tocsinctl answered before the "
                                          "receiver did")
            slow.release()
            out, err = ctl.communicate(timeout=60)
            self.assertEqual(ctl.returncode, 0, err)
            self.assertIn("delivered", out)
        finally:
            if ctl.poll() is None:
                ctl.kill()
                ctl.communicate()
        # The control socket serves again afterwards.
        self.assertTrue(self.ctl_json(d, "status")["ok"])
        self.assertEqual(d.stop(), 0)


class PublishTest(OpsCase):

    def test_receiver_down_is_published(self):
        ok = self.receiver()
        dead = "http://127.0.0.1:%d/hook" % free_port()
        d = self.daemon(config(self.redis.url, [
            {"name": "gone", "url": dead,
             "extra": " down_after = 2; backoff_min_ms = 50;"
                      " backoff_max_ms = 100;"},
            {"name": "ok", "url": ok.url}]))
        # Subscribed before the daemon binds: nanomsg connects when it can.
        sub = Subscriber(d.sockets["publish"], b"gone\t")
        self.addCleanup(sub.close)
        d.start()
        self.wait_ready(d)
        time.sleep(1.0)  # let the subscription connect
        self.r.xadd("tocsin:outbox", {
            "delivery": "d-gone", "receiver": "gone", "body": "{}",
            "created": str(now_ms())})
        msg = sub.recv(60)
        self.assertIsNotNone(msg, "no ReceiverDown event published")
        topic, _, body = msg.partition(b"\t")
        self.assertEqual(topic, b"gone")
        ev = json.loads(body)
        self.assertEqual(ev["status"], "firing")
        self.assertEqual(ev["receiver"], "publish")
        labels = ev["alerts"][0]["labels"]
        self.assertEqual(labels["alertname"], "ReceiverDown")
        self.assertEqual(labels["receiver"], "gone")
        # The same event went to the other receiver.
        wait_for(lambda: any(
            b["alerts"][0]["labels"]["alertname"] == "ReceiverDown"
            for _, b in ok.accepted()), 30, what="ReceiverDown at 'ok'")
        self.assertEqual(d.stop(), 0)

    def live_burst(self, stop):
        """Until stop is set: a 30x negative burst on AirNova, written live
        (event time = now), as a crisis arrives."""
        r = self.redis.client()
        i = 0
        while not stop.is_set():
            pipe = r.pipeline(transaction=False)
            for _ in range(5):
                i += 1
                pipe.xadd("mentions", {"json": json.dumps({
                    "topic": "AirNova", "ts": now_ms(), "id": "live-%d" % i,
                    "text": "vol annulé, remboursement ??", "lang": "fr",
                    "sentiment": -0.7})})
            pipe.execute()
            stop.wait(0.25)
        r.close()

    def test_subscribers_and_watch_receive_alert_events(self):
        # Calm history up to now, read before anyone subscribes; then a
        # crisis arrives live, while the subscribers listen.
        d = self.crisis_daemon()
        self.mentions = make_crisis_stream(self.now, crisis=False)
        write_stream(self.r, self.mentions)
        d.start()
        self.wait_ready(d)
        wait_for(self.group_done, 60, what="history read")
        sub_all = Subscriber(d.sockets["publish"])
        sub_air = Subscriber(d.sockets["publish"], b"AirNova\t")
        sub_other = Subscriber(d.sockets["publish"], b"Orbitel\t")
        watch = subprocess.Popen(
            [TOCSINCTL, "-c", d.conf, "--json", "watch", "AirNova",
             "--count", "1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True)
        stop = threading.Event()
        burst = threading.Thread(target=self.live_burst, args=(stop,))
        try:
            wait_for(lambda: watch.stderr.readline().startswith(
                "tocsinctl: watching"), 30, what="tocsinctl watch")
            time.sleep(1.0)  # let the subscriptions connect
            burst.start()
            msg = sub_air.recv(90)
            self.assertIsNotNone(msg, "no event for AirNova")
            topic, _, body = msg.partition(b"\t")
            self.assertEqual(topic, b"AirNova")
            ev = json.loads(body)
            self.assertEqual(ev["status"], "firing")
            self.assertEqual(ev["alerts"][0]["labels"]["topic"], "AirNova")
            first = sub_all.recv(30)
            self.assertIsNotNone(first)
            self.assertEqual(first, msg)
            out, _ = watch.communicate(timeout=60)
            self.assertEqual(watch.returncode, 0)
            wev = json.loads(out.strip().splitlines()[-1])
            self.assertEqual(wev, ev)
            # What is published is what the receiver got (same event).
            # Two AirNova alerts may fire in the same step and be delivered
            # in either order: look for this one among those received.
            fp = ev["alerts"][0]["fingerprint"]

            def delivered():
                for req in self.rcv.all():
                    b = json.loads(req["body"])
                    if b.get("status") == "firing" and \
                            b["alerts"][0]["fingerprint"] == fp:
                        return b
                return None
            got = wait_for(delivered, 60, what="the published alert delivered")
            self.assertEqual(got["alerts"][0]["labels"]["topic"], "AirNova")
            # The filter holds: nothing for Orbitel, which stayed calm.
            self.assertIsNone(sub_other.recv(1))
        finally:
            stop.set()
            if burst.is_alive():
                burst.join()
            if watch.poll() is None:
                watch.kill()
            watch.communicate()
            sub_all.close()
            sub_air.close()
            sub_other.close()
        self.assertEqual(d.stop(), 0)


class MetricsTest(OpsCase):

    def test_metrics_pass_promtool_and_count(self):
        d = self.crisis_daemon()
        write_stream(self.r, self.mentions)
        self.r.xadd("mentions", {"json": "not json"})
        # The last mention written three more times (a collector's
        # retries): counted once.
        self.assertTrue(self.mentions[-1]["id"])
        write_stream(self.r, [self.mentions[-1]] * 3)
        d.start()
        self.wait_firing()
        wait_for(self.group_done, 30, what="stream read and acked")
        base = "http://%s" % d.sockets["http"]

        def delivered():
            _, text = http_get(base + "/metrics")
            m = re.search(r'^tocsin_notification_latency_seconds_count'
                          r'\{receiver="oncall"\} (\d+)$', text, re.M)
            return text if m and int(m.group(1)) >= 1 else None
        text = wait_for(delivered, 30, what="a delivery in the metrics")
        spike = ('tocsin_alerts{alertname="MentionVolumeSpike",'
                 'state="firing"} 1')
        text = wait_for(lambda: (lambda t: t if spike in t else None)(
            http_get(base + "/metrics")[1]), 30, what="the spike firing")
        path = os.path.join(self.dir, "metrics.txt")
        with open(path, "w") as f:
            f.write(text)
        with open(path) as f:
            p = subprocess.run(["promtool", "check", "metrics"], stdin=f,
                               capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

        def value(line):
            m = re.search("^" + re.escape(line) + r" (\S+)$", text, re.M)
            self.assertIsNotNone(m, line)
            return float(m.group(1))
        self.assertEqual(value("tocsin_mentions_ingested_total"),
                         len(self.mentions) + 1 + 3)
        self.assertEqual(value("tocsin_mentions_duplicate_total"), 3)
        self.assertEqual(value("tocsin_mentions_dead_lettered_total"), 1)
        self.assertEqual(value("tocsin_topics"), 3)
        self.assertEqual(value("tocsin_ingest_lag_seconds"), 0)
        self.assertEqual(value('tocsin_alerts{alertname="MentionVolumeSpike",'
                               'state="firing"}'), 1)
        self.assertGreaterEqual(value(
            'tocsin_alert_events_total{alertname="MentionVolumeSpike",'
            'status="firing"}'), 1)
        self.assertGreaterEqual(value(
            'tocsin_notifications_sent_total{receiver="oncall"}'), 1)
        self.assertEqual(value('tocsin_notifications_failed_total{receiver='
                               '"oncall",reason="http_5xx"}'), 0)
        self.assertEqual(value('tocsin_build_info{version="0.1.0"}'), 1)
        self.assertEqual(value("tocsin_ready"), 1)
        self.assertEqual(http_get(base + "/-/healthy")[0], 200)
        self.assertEqual(http_get(base + "/-/ready")[0], 200)
        self.assertEqual(http_get(base + "/nothing")[0], 404)
        self.assertEqual(d.stop(), 0)

    def test_failures_by_reason(self):
        d = self.crisis_daemon(statuses=[503, 503])
        write_stream(self.r, self.mentions)
        d.start()
        self.wait_firing()
        base = "http://%s" % d.sockets["http"]

        def failed():
            _, text = http_get(base + "/metrics")
            return re.search(r'^tocsin_notifications_failed_total\{receiver='
                             r'"oncall",reason="http_5xx"\} 2$', text, re.M)
        wait_for(failed, 30, what="two 5xx failures in the metrics")
        self.assertEqual(d.stop(), 0)


class ReloadTest(OpsCase):

    def test_reload_good_and_bad_through_tocsinctl(self):
        one = self.receiver()
        two = self.receiver()
        conf = config(self.redis.url, [{"name": "one", "url": one.url}])
        d = self.daemon(conf).start()
        self.wait_ready(d)
        with open(d.conf, "w") as f:
            f.write(conf.replace("bucket = 60;", "buket = 60;"))
        r = d.ctl("reload")
        self.assertEqual(r.returncode, 1)
        self.assertRegex(r.stderr, re.escape(d.conf) + r":\d+: .*buket.*"
                         r"did you mean")
        self.assertIn("rejected", d.stderr())
        # A file libconfig cannot parse: tocsinctl still finds the socket,
        # and the daemon reports the syntax error.
        with open(d.conf, "w") as f:
            f.write(conf + "detection = { oops\n")
        r = d.ctl("reload")
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("syntax error", r.stderr)
        st = self.ctl_json(d, "status")
        self.assertEqual([x["name"] for x in st["receivers"]], ["one"])
        self.assertTrue(st["ready"])

        with open(d.conf, "w") as f:
            f.write(conf.replace(
                'receivers = ( { name = "one"; type = "webhook"; url = "%s"; '
                '} );' % one.url,
                'receivers = ( { name = "one"; type = "webhook"; url = "%s"; '
                '}, { name = "two"; type = "webhook"; url = "%s"; } );' % (
                    one.url, two.url)))
        r = d.ctl("reload")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("configuration reloaded", r.stdout)
        st = self.ctl_json(d, "status")
        self.assertEqual([x["name"] for x in st["receivers"]],
                         ["one", "two"])
        self.assertEqual(d.ctl("test-receiver", "two").returncode, 0)
        self.assertEqual(len(two.all()), 1)
        self.assertEqual(d.stop(), 0)

    def test_reload_on_sighup_good_and_bad(self):
        one = self.receiver()
        conf = config(self.redis.url, [{"name": "one", "url": one.url}])
        d = self.daemon(conf).start()
        self.wait_ready(d)
        with open(d.conf, "w") as f:
            f.write(conf + "bogus = 1;\n")
        d.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: "keeping the old one" in d.stderr(), 30,
                 what="the bad config rejected")
        self.assertIn("CONFIG-ERROR", d.stderr())
        self.assertEqual(d.ctl("status").returncode, 0)
        with open(d.conf, "w") as f:
            f.write(conf.replace('level = "info"', 'level = "debug"'))
        d.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: "configuration reloaded" in d.stderr(), 30,
                 what="the good config swapped in")
        self.assertIsNone(d.proc.poll())
        self.assertEqual(d.ctl("status").returncode, 0)
        self.assertEqual(d.stop(), 0)


class LifecycleTest(OpsCase):

    def test_sd_notify_ready_only_after_redis_then_watchdog(self):
        sock_path = os.path.join(self.dir, "notify.sock")
        ns = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        ns.bind(sock_path)
        ns.settimeout(0.2)
        got = []

        def drain():
            try:
                while True:
                    got.append(ns.recv(4096).decode())
            except socket.timeout:
                pass
            return got

        self.redis.stop()
        d = self.daemon(config(self.redis.url))
        d.env = {"NOTIFY_SOCKET": sock_path, "WATCHDOG_USEC": "400000"}
        d.start()
        try:
            wait_for(lambda: any("waiting for redis" in m
                                 for m in drain()), 30,
                     what="STATUS=waiting for redis")
            self.assertFalse(any("READY=1" in m for m in got))
            # Not ready, but alive and answering.
            st = self.ctl_json(d, "status")
            self.assertFalse(st["ready"])
            self.assertFalse(st["ingest"]["connected"])
            base = "http://%s" % d.sockets["http"]
            self.assertEqual(http_get(base + "/-/ready")[0], 503)
            self.assertEqual(http_get(base + "/-/healthy")[0], 200)
            r = d.ctl("reload")
            self.assertEqual(r.returncode, 1)
            self.assertIn("still waiting for redis", r.stderr)
            self.redis.start()
            wait_for(lambda: any("READY=1" in m for m in drain()), 30,
                     what="READY=1")
            self.assertEqual(http_get(base + "/-/ready")[0], 200)
            n = len(got)
            wait_for(lambda: sum("WATCHDOG=1" in m
                                 for m in drain()[n:]) >= 2, 30,
                     what="two WATCHDOG=1 after READY")
            self.assertEqual(d.stop(), 0)
            drain()
            self.assertTrue(any("STOPPING=1" in m for m in got))
        finally:
            ns.close()

    def test_sigterm_under_load_loses_nothing(self):
        conf = config(self.redis.url).replace(
            "block_ms = 200;", "block_ms = 200; batch = 500;")
        d = self.daemon(conf).start()
        self.wait_ready(d)
        t0 = now_ms() - 3600000
        written = [0]
        stop = threading.Event()

        def writer():
            r = self.redis.client()
            i = 0
            while not stop.is_set() and i < 200000:
                pipe = r.pipeline(transaction=False)
                for _ in range(500):
                    pipe.xadd("mentions", {
                        "topic": "T%d" % (i % 50), "ts": str(t0 + i * 10),
                        "sentiment": "0.1"})
                    i += 1
                pipe.execute()
                written[0] = i
            r.close()
        th = threading.Thread(target=writer)
        th.start()
        try:
            def busy():
                st = self.ctl_json(d, "status")
                return st["ingest"]["entries"] >= 20000
            wait_for(busy, 120, 0.2, what="the daemon busy reading")
            self.assertLess(self.r.xinfo_groups("mentions")[0]["entries-read"]
                            if "entries-read" in self.r.xinfo_groups(
                                "mentions")[0] else 0, 200000)
            t = time.monotonic()
            self.assertEqual(d.stop(signal.SIGTERM, timeout=10), 0)
            self.assertLess(time.monotonic() - t, 10)
        finally:
            stop.set()
            th.join()
        total = written[0]
        # Everything read was committed and acknowledged before exiting.
        g = self.r.xinfo_groups("mentions")[0]
        self.assertEqual(g["pending"], 0)
        m = re.findall(r"INGEST-STATS entries=(\d+)", d.stderr())
        first = int(m[-1])
        self.assertGreater(first, 0)
        self.assertEqual(self.r.xlen("mentions"), total)
        # A new run reads the rest, exactly once.
        d.start()
        wait_for(self.group_done, 120, 0.2, what="the rest read")
        st = self.ctl_json(d, "status")
        self.assertEqual(first + st["ingest"]["entries"], total)
        self.assertEqual(d.stop(), 0)


class PackagingTest(unittest.TestCase):

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="tocsin-pkg-")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def man_tree(self):
        man = os.path.join(self.dir, "man")
        for sect, src in (("1", "man/tocsinctl.1"),
                          ("5", "conf/tocsin.conf.5"),
                          ("8", "man/tocsind.8")):
            os.makedirs(os.path.join(man, "man" + sect), exist_ok=True)
            shutil.copy(os.path.join(SRC, src),
                        os.path.join(man, "man" + sect))
        return man

    def test_unit_verifies_and_is_hardened(self):
        with open(os.path.join(SRC, "systemd", "tocsin.service")) as f:
            unit = f.read()
        for line in ("Type=notify", "WatchdogSec=", "Restart=on-failure",
                     "ExecReload=/bin/kill -HUP $MAINPID", "DynamicUser=yes",
                     "RuntimeDirectory=tocsin", "ProtectSystem=strict",
                     "NoNewPrivileges=yes", "CapabilityBoundingSet=\n",
                     "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6",
                     "SystemCallFilter=@system-service"):
            self.assertIn(line, unit)
        conf = os.path.join(self.dir, "tocsind.conf")
        shutil.copy(os.path.join(SRC, "conf", "tocsind.conf"), conf)
        path = os.path.join(self.dir, "tocsin.service")
        with open(path, "w") as f:
            f.write(unit.replace("/usr/sbin/tocsind",
                                 os.path.join(BUILD, "tocsind"))
                    .replace("/etc/tocsind/tocsind.conf", conf))
        env = dict(os.environ, MANPATH=self.man_tree())
        p = subprocess.run(["systemd-analyze", "verify", path], env=env,
                           capture_output=True, text=True, timeout=120)
        self.assertEqual((p.returncode, p.stderr), (0, ""))
        p = subprocess.run(["systemd-analyze", "security", "--offline=true",
                            path], capture_output=True, text=True,
                           timeout=120)
        m = re.search(r"Overall exposure level for \S+: (\d+\.\d+)",
                      p.stdout)
        self.assertIsNotNone(m, p.stdout + p.stderr)
        self.assertLessEqual(float(m.group(1)), 2.0)
        # The README prints the figure.
        with open(os.path.join(SRC, "README.md")) as f:
            figure = "exposure **%s**" % m.group(1)
            self.assertTrue(figure in f.read(), "README lacks " + figure)

    def test_install_puts_everything_in_place(self):
        dest = os.path.join(self.dir, "root")
        p = subprocess.run(["cmake", "--install", BUILD],
                           env=dict(os.environ, DESTDIR=dest),
                           capture_output=True, text=True, timeout=300)
        self.assertEqual(p.returncode, 0, p.stderr)
        cache = open(os.path.join(BUILD, "CMakeCache.txt")).read()
        prefix = re.search(r"^CMAKE_INSTALL_PREFIX:PATH=(.*)$", cache,
                           re.M).group(1)
        root = dest + prefix
        etc = dest + ("/etc" if prefix == "/usr" else prefix + "/etc")
        for rel in ("sbin/tocsind", "bin/tocsinctl",
                    "lib/systemd/system/tocsin.service",
                    "share/tocsin/lexicons/en/vader_lexicon.txt",
                    "share/tocsin/lexicons/fr/vader_fr_lexicon.txt",
                    "share/man/man1/tocsinctl.1",
                    "share/man/man5/tocsin.conf.5",
                    "share/man/man8/tocsind.8"):
            self.assertTrue(os.path.exists(os.path.join(root, rel)), rel)
        self.assertTrue(os.path.exists(os.path.join(etc, "tocsind",
                                                    "tocsind.conf")))
        with open(os.path.join(root, "lib/systemd/system/tocsin.service")) \
                as f:
            unit = f.read()
        self.assertIn("ExecStart=%s/sbin/tocsind -c " % prefix, unit)
        for page in ("share/man/man1/tocsinctl.1",
                     "share/man/man5/tocsin.conf.5",
                     "share/man/man8/tocsind.8"):
            p = subprocess.run(["man", "--warnings", "-l",
                                os.path.join(root, page)],
                               capture_output=True, text=True, timeout=60,
                               env=dict(os.environ, MANWIDTH="80"))
            self.assertEqual((p.returncode, p.stderr), (0, ""), page)

    def test_tocsinctl_version_and_help(self):
        p = subprocess.run([TOCSINCTL, "--help"], capture_output=True,
                           text=True, timeout=30)
        self.assertEqual(p.returncode, 0)
        for cmd in ("status", "topics", "alerts", "test-receiver", "reload",
                    "watch"):
            self.assertIn(cmd, p.stdout)
        p = subprocess.run([TOCSINCTL], capture_output=True, text=True,
                           timeout=30)
        self.assertEqual(p.returncode, 2)


if __name__ == "__main__":
    unittest.main()
