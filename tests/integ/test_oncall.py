"""On call wired into tocsind (issue 6), end to end.

A real redis-server, real HTTP receivers (the team channel, Marie, Paul and
an emergency pager), the real daemon with a route tree, a schedule and an
escalation policy whose steps wait a few seconds, the real tocsinctl and
the daemon's own HTTP listener for the signed ack links.  Nothing is
mocked; conditions are polled with generous timeouts, never timed.
"""

import base64
import hashlib
import hmac
import json
import signal
import time
import unittest
import urllib.error
import urllib.request

from push_servers import PushoverServer
from tocsin_harness import (TocsinCase, config, make_crisis_stream, wait_for,
                            write_stream)

ACK_SECRET = "ack-s3cret-for-integ"
CATCHUP = "catchup_max_age = 1800;"


def now_ms():
    return int(time.time() * 1000)


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def sign(secret, alert, action, expires, nonce):
    """An ack token as src/ack.c makes them."""
    payload = ("1|%s|%s|%d|%s" % (alert, action, expires, nonce)).encode()
    mac = hmac.new(secret.encode(), payload, hashlib.sha256).digest()
    return b64url(payload) + "." + b64url(mac)


def http(url, method="GET"):
    """(status, body text)."""
    req = urllib.request.Request(url, method=method,
                                 data=b"" if method == "POST" else None)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def oncall_of(body):
    return body["alerts"][0].get("tocsin_oncall", {})



def write_two_crises(r):
    """The same crisis on AirNova and BluePhone at once (BluePhone's from
    another seed): two volume alerts and two negativity ones."""
    now = now_ms()
    a = make_crisis_stream(now, crisis_start_min=116, crisis_len_min=4)
    b = [dict(m, topic="BluePhone", id="B" + m["id"])
         for m in make_crisis_stream(now, seed=11, crisis_start_min=116,
                                     crisis_len_min=4)
         if m["topic"] == "AirNova"]
    write_stream(r, sorted(a + b, key=lambda m: m["ts"]))

class OncallCase(TocsinCase):

    def oncall_daemon(self, waits=(3, 8, 3), pushover=None):
        """A daemon whose AirNova volume alert escalates: Marie (the
        schedule) -> the emergency pager (a webhook, or Pushover at the
        server pushover) -> Paul and the team channel; every other alert
        goes to the team channel."""
        self.team = self.receiver()
        self.marie = self.receiver()
        self.paul = self.receiver()
        self.emergency = self.receiver()
        recv = [{"name": n, "url": r.url,
                 "extra": " backoff_min_ms = 50; backoff_max_ms = 200;"}
                for n, r in (("team", self.team), ("marie", self.marie),
                             ("paul", self.paul),
                             ("emergency", self.emergency))]
        if pushover:
            recv[3] = {"name": "emergency", "url": pushover.base,
                       "extra": ' token = "apptoken"; user = "uQiRzpo4DXgh'
                                'Dmr9QzzfQu27cmVRsG"; priority_map = {'
                                ' critical = 2; warning = 2; };'}
        extra = """
oncall = { ack_secret = "%s"; };
people = (
  { name = "marie"; full_name = "Marie"; receivers = ["marie"]; },
  { name = "paul"; full_name = "Paul"; receivers = ["paul"]; } );
schedules = (
  { name = "primary";
    layers = ( { users = ["marie"]; rotation = "daily";
                 start = "2026-01-01"; handoff = "09:00"; } ); } );
escalation_policies = (
  { name = "crisis"; repeat = 0; announce = ["team"];
    steps = ( { notify = ["schedule:primary"]; wait = %d; },
              { notify = ["emergency"]; wait = %d; },
              { notify = ["user:paul", "team"]; wait = %d; } ); } );
route = {
  receiver = "team"; group_wait = 0; group_interval = 60;
  repeat_interval = 86400;
  routes = ( { matchers = ["alertname=\\"MentionVolumeSpike\\"",
                           "topic=\\"AirNova\\""];
               escalation = "crisis"; } ); };
""" % ((ACK_SECRET,) + tuple(waits))
        conf = config(self.redis.url, recv, extra_detection=CATCHUP,
                      extra=extra)
        if pushover:
            conf = conf.replace('{ name = "emergency"; type = "webhook";',
                                '{ name = "emergency"; type = "pushover";')
        d = self.daemon(conf)
        self.base = "http://" + d.sockets["http"]
        return d

    def crisis(self):
        """Mentions with a crisis on AirNova still going on at the end."""
        self.mentions = make_crisis_stream(now_ms(), crisis_start_min=116,
                                           crisis_len_min=4)
        write_stream(self.r, self.mentions)

    def alive(self, d):
        if d.crashed():
            raise AssertionError("tocsind exited:\n" + d.stderr()[-3000:])

    def wait_ready(self, d):
        def ok():
            self.alive(d)
            r = d.ctl("--json", "status", timeout=30)
            return r.returncode == 0 and json.loads(r.stdout)["ready"]
        wait_for(ok, 60, 0.1, what="tocsind ready")

    def notes(self, rcv, kind=None, step=None):
        out = []
        for _, b in rcv.accepted():
            o = oncall_of(b)
            if kind and o.get("kind") != kind:
                continue
            if step is not None and o.get("step") != step:
                continue
            out.append(b)
        return out

    def wait_note(self, d, rcv, kind, step=None, timeout=90):
        def got():
            self.alive(d)
            return self.notes(rcv, kind, step)
        return wait_for(got, timeout, 0.05,
                        what="a %s note (step %s)" % (kind, step))[0]

    def ctl_json(self, d, *args):
        r = d.ctl("--json", *args)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return json.loads(r.stdout)

    def oncall_alert(self, d, fp):
        for a in self.ctl_json(d, "alerts").get("oncall", []):
            if a["fingerprint"] == fp:
                return a
        return None

    def checkpoints(self, d):
        return self.ctl_json(d, "status")["ingest"]["checkpoints"]

    def link_token(self, url):
        self.assertIn("/ack/", url)
        return url.split("/ack/", 1)[1]



class EscalationAndLinksTest(OncallCase):

    def test_escalation_ack_link_announced_and_bad_links_refused(self):
        d = self.oncall_daemon(waits=(3, 8, 3))
        self.crisis()
        d.start()
        first = self.wait_note(d, self.marie, "escalation", 0)
        oc = oncall_of(first)
        self.assertEqual(oc["user"], "marie")
        self.assertEqual(oc["round"], 0)
        fp = first["alerts"][0]["fingerprint"]
        self.assertEqual(first["alerts"][0]["labels"]["topic"], "AirNova")
        # Every message carries its signed links.
        self.assertTrue(oc["ack_url"].startswith("http://tocsin.test/ack/"))
        self.assertTrue(
            oc["resolve_url"].startswith("http://tocsin.test/ack/"))
        self.assertNotEqual(oc["ack_url"], oc["resolve_url"])
        # Nobody answered: the next step pages the emergency receiver.
        second = self.wait_note(d, self.emergency, "escalation", 1)
        self.assertEqual(second["alerts"][0]["fingerprint"], fp)
        self.assertEqual(self.notes(self.paul), [])

        # Marie's phone follows her link (ntfy's http action POSTs).
        token = self.link_token(oc["ack_url"])
        status, page = http(self.base + "/ack/" + token, "POST")
        self.assertEqual(status, 200, page)
        self.assertIn("acknowledged", page)
        self.assertIn("<html>", page)

        ann = self.wait_note(d, self.team, "ack")
        self.assertEqual(ann["alerts"][0]["fingerprint"], fp)
        summary = ann["alerts"][0]["annotations"]["summary"]
        self.assertIn("acknowledged by Marie", summary)
        self.assertIn("AirNova", summary)
        a = self.oncall_alert(d, fp)
        self.assertEqual(a["escalation"]["status"], "acked")
        self.assertEqual(a["escalation"]["step"], 1)
        self.assertTrue(any("acknowledged by Marie" in h["text"]
                            for h in a["history"]))
        # Remembered in Redis.
        stored = json.loads(self.r.hget("tocsin:oncall:alerts", fp))
        self.assertEqual(stored["escalation"]["status"], "acked")
        # `tocsinctl alerts` shows it.
        table = d.ctl("alerts")
        self.assertEqual(table.returncode, 0, table.stderr)
        self.assertRegex(table.stdout, r"%s\s+AirNova\s+firing\s+\S*[Mm]arie"
                         % fp)

        # The same link again, a forged one, garbage, an expired one.
        status, page = http(self.base + "/ack/" + token)
        self.assertEqual(status, 409, page)
        self.assertIn("already used", page)
        forged = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
        self.assertEqual(http(self.base + "/ack/" + forged)[0], 403)
        other = sign("not-the-secret", fp, "ack", int(time.time()) + 600,
                     "marie")
        self.assertEqual(http(self.base + "/ack/" + other)[0], 403)
        self.assertEqual(http(self.base + "/ack/not-a-token")[0], 404)
        expired = sign(ACK_SECRET, fp, "ack", int(time.time()) - 10, "marie")
        status, page = http(self.base + "/ack/" + expired)
        self.assertEqual(status, 410, page)
        self.assertIn("expired", page)
        # A fresh, valid link for an alert already acknowledged.
        fresh = sign(ACK_SECRET, fp, "ack", int(time.time()) + 600, "paul")
        self.assertEqual(http(self.base + "/ack/" + fresh)[0], 409)
        r = d.ctl("ack", fp)
        self.assertEqual(r.returncode, 1)
        self.assertIn("already acknowledged", r.stderr)

        # Step 3 was due 8 s after step 2: let that time pass (and the
        # loop turn), then nothing more went to Paul or the pager.
        due = time.time() + 10
        wait_for(lambda: time.time() > due, 30, 0.2, what="step 3's time")
        n = self.checkpoints(d)
        wait_for(lambda: self.checkpoints(d) > n + 2, 30, 0.2,
                 what="a few more turns of the loop")
        self.assertEqual(self.notes(self.paul), [])
        self.assertEqual(len(self.notes(self.emergency, "escalation")), 1)
        self.assertEqual(self.notes(self.team, "escalation"), [])

        # Redis away: bad links still get their verdict, a good one is
        # asked to come back (and is not spent).
        self.redis.stop()
        wait_for(lambda: http(self.base + "/-/ready")[0] == 503, 30, 0.2,
                 what="tocsind to notice redis is gone")
        self.assertEqual(http(self.base + "/ack/not-a-token")[0], 404)
        self.assertEqual(http(self.base + "/ack/" + forged)[0], 403)
        self.assertEqual(http(self.base + "/ack/" + expired)[0], 410)
        status, page = http(self.base + "/ack/" + fresh)
        self.assertEqual(status, 503, page)
        self.assertIn("try again", page)
        self.redis.start()
        wait_for(lambda: http(self.base + "/-/ready")[0] == 200, 30, 0.2,
                 what="tocsind back with redis")
        self.assertEqual(http(self.base + "/ack/" + fresh)[0], 409)
        self.assertEqual(d.stop(), 0)

    def test_link_used_only_when_its_ack_commits(self):
        d = self.oncall_daemon(waits=(600, 600, 600))
        self.crisis()
        d.start()
        first = self.wait_note(d, self.marie, "escalation", 0)
        fp = first["alerts"][0]["fingerprint"]
        token = self.link_token(oncall_of(first)["ack_url"])
        # Redis refuses the checkpoint's writes of the on-call state
        # (HSET) but would still take a lone SET of the used link.
        self.r.execute_command("ACL", "SETUSER", "default", "-hset")
        try:
            status, page = http(self.base + "/ack/" + token, "POST")
            self.assertEqual(status, 503, page)
            self.assertIn("try again", page)
            self.assertEqual(self.r.keys("tocsin:oncall:ack:*"), [])
        finally:
            self.r.execute_command("ACL", "SETUSER", "default", "+@all")
        stored = json.loads(self.r.hget("tocsin:oncall:alerts", fp))
        self.assertEqual(stored["escalation"]["status"], "running")

        # Redis takes writes again: the same link works, once.
        def followed():
            self.alive(d)
            status, page = http(self.base + "/ack/" + token, "POST")
            return status if status != 503 else None
        self.assertEqual(wait_for(followed, 60, 0.2, what="the link"), 200)
        ann = self.wait_note(d, self.team, "ack")
        self.assertEqual(ann["alerts"][0]["fingerprint"], fp)
        stored = json.loads(self.r.hget("tocsin:oncall:alerts", fp))
        self.assertEqual(stored["escalation"]["status"], "acked")
        self.assertEqual(len(self.r.keys("tocsin:oncall:ack:*")), 1)
        self.assertEqual(http(self.base + "/ack/" + token)[0], 409)
        self.assertEqual(d.stop(), 0)

    def test_reload_removing_the_policy_stops_its_escalation(self):
        d = self.oncall_daemon(waits=(3, 600, 600))
        self.crisis()
        d.start()
        first = self.wait_note(d, self.marie, "escalation", 0)
        fp = first["alerts"][0]["fingerprint"]
        self.wait_note(d, self.emergency, "escalation", 1)
        # The route now names another policy; "crisis" is gone.
        with open(d.conf) as f:
            text = f.read()
        with open(d.conf, "w") as f:
            f.write(text.replace('name = "crisis";', 'name = "calm";')
                    .replace('escalation = "crisis";',
                             'escalation = "calm";'))
        r = d.ctl("reload")
        self.assertEqual(r.returncode, 0, r.stderr)

        def stopped():
            self.alive(d)
            a = self.oncall_alert(d, fp)
            return a if a and a["escalation"]["status"] == "exhausted" \
                else None
        a = wait_for(stopped, 60, 0.2, what="the escalation stopped")
        self.assertEqual(a["status"], "firing")
        self.assertTrue(any("escalation crisis stopped: the policy is no "
                            "longer configured" in h["text"]
                            for h in a["history"]), a["history"])
        self.assertEqual(a["escalation"]["step"], 1)  # where it was
        # In memory across the reload (it was all committed).
        wait_for(lambda: "kept in memory across the reload" in d.stderr(),
                 30, 0.2, what="the reload's log line")
        # Still acknowledgeable.
        r = d.ctl("ack", fp, "--by", "Paul")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.notes(self.paul), [])
        self.assertEqual(d.stop(), 0)

    def test_restart_and_reload_mid_escalation_send_each_step_once(self):
        d = self.oncall_daemon(waits=(5, 5, 3))
        self.crisis()
        d.start()
        first = self.wait_note(d, self.marie, "escalation", 0)
        fp = first["alerts"][0]["fingerprint"]
        d.stop(signal.SIGKILL)
        d.start()
        self.wait_note(d, self.emergency, "escalation", 1)
        # A reload keeps the on-call state (reconfigured in memory, or
        # rebuilt from Redis if anything was uncommitted): it carries on.
        r = d.ctl("reload")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.wait_note(d, self.paul, "escalation", 2)
        self.wait_note(d, self.team, "escalation", 2)

        def exhausted():
            a = self.oncall_alert(d, fp)
            return a and a["escalation"]["status"] == "exhausted"
        wait_for(exhausted, 60, 0.2, what="the policy run to its end")
        # Each step reached its targets under one delivery id (a delivery
        # cut by the kill may be retried, never made anew), whatever the
        # kill hit.
        for rcv, step in ((self.marie, 0), (self.emergency, 1),
                          (self.paul, 2), (self.team, 2)):
            got = [(oncall_of(b)["step"], h["x-tocsin-delivery"])
                   for h, b in rcv.accepted()
                   if oncall_of(b).get("kind") == "escalation"]
            self.assertEqual({st for st, _ in got}, {step})
            self.assertEqual(len({dl for _, dl in got}), 1, got)
        a = self.oncall_alert(d, fp)
        texts = [h["text"] for h in a["history"]]
        for k in (1, 2, 3):
            self.assertEqual(sum("escalation step %d/3" % k in t
                                 for t in texts), 1 if k != 3 else 2,
                             texts)
        self.assertEqual(d.stop(), 0)


class GroupedNotificationTest(OncallCase):

    def test_a_group_flush_is_one_notification_listing_its_alerts(self):
        self.team = self.receiver()
        self.pd = self.receiver()
        recv = [{"name": "team", "url": self.team.url,
                 "extra": " backoff_min_ms = 50; backoff_max_ms = 200;"},
                {"name": "pd", "url": self.pd.url,
                 "extra": ' routing_key = "rk";'}]
        extra = """
oncall = { ack_secret = "%s"; };
route = { receiver = "team"; group_by = ["alertname"]; group_wait = 5;
          group_interval = 3; repeat_interval = 86400;
          routes = ( { matchers = ["kind=~\\".+\\""]; receiver = "pd";
                       continue = true; },
                     { matchers = ["kind=~\\".+\\""]; } ); };
""" % ACK_SECRET
        conf = config(self.redis.url, recv, extra_detection=CATCHUP,
                      extra=extra)
        d = self.daemon(conf.replace('{ name = "pd"; type = "webhook";',
                                     '{ name = "pd"; type = "pagerduty";'))
        self.base = "http://" + d.sockets["http"]
        # The same crisis on two topics at once: two volume alerts (and
        # two negativity ones), a group per alertname.
        write_two_crises(self.r)
        d.start()

        def grouped():
            self.alive(d)
            return [(h, b) for h, b in self.team.accepted()
                    if b["status"] == "firing" and len(b["alerts"]) >= 2]
        h, body = wait_for(grouped, 120, 0.1, what="a grouped notification")[0]
        topics = sorted(al["labels"]["topic"] for al in body["alerts"])
        self.assertEqual(topics, ["AirNova", "BluePhone"])
        name = body["commonLabels"]["alertname"]  # volume or negativity
        self.assertEqual(body["groupKey"], 'root/1:{alertname="%s"}' % name)
        self.assertNotIn("topic", body["commonLabels"])
        self.assertEqual(body["truncatedAlerts"], 0)
        # Every firing note of the group is one delivery; never one note
        # per alert of a flush.
        firing = [(h, b) for h, b in self.team.accepted()
                  if b["status"] == "firing"]
        ids = [h["x-tocsin-delivery"] for h, _ in firing]
        self.assertEqual(len(ids), len(set(ids)))
        # Each alert has its own link; following one acks only that one.
        links = {al["labels"]["topic"]: oncall_of({"alerts": [al]})["ack_url"]
                 for al in body["alerts"]}
        self.assertNotEqual(links["AirNova"], links["BluePhone"])
        status, page = http(self.base + "/ack/" +
                            self.link_token(links["BluePhone"]), "POST")
        self.assertEqual(status, 200, page)
        fps = {al["labels"]["topic"]: al["fingerprint"]
               for al in body["alerts"]}
        self.assertEqual(self.oncall_alert(d, fps["BluePhone"])["acked_by"],
                         "team")
        self.assertIsNone(self.oncall_alert(d, fps["AirNova"])["acked_by"])
        # PagerDuty got the same group as one event per alert (its API
        # deduplicates per alert): a trigger for each fingerprint.
        def per_alert():
            keys = {b.get("dedup_key") for _, b in self.pd.accepted()
                    if b.get("event_action") == "trigger"}
            return keys >= set(fps.values())
        wait_for(per_alert, 60, 0.1, what="a PagerDuty event per alert")
        self.assertEqual(d.stop(), 0)


class GroupRestartTest(OncallCase):

    def test_group_flush_survives_kill_at_its_time_listing_the_resolved(self):
        """Two volume alerts in one group: AirNova's is sent (the silence
        added makes the group look at once), BluePhone's waits for the
        silence to end (the group's flush is due then).
        AirNova's is resolved by its link, tocsind is killed (-9) and
        started again: the group flushes when it was due, not group_wait
        after the restart, listing BluePhone and AirNova (resolved) once,
        under a new delivery id."""
        wait = 60  # group_wait: what a group rebuilt at the restart waits
        self.team = self.receiver()
        recv = [{"name": "team", "url": self.team.url,
                 "extra": " backoff_min_ms = 50; backoff_max_ms = 200;"}]
        extra = """
oncall = { ack_secret = "%s"; };
route = { receiver = "team"; group_by = ["alertname"]; group_wait = %d;
          group_interval = 5; repeat_interval = 86400; };
""" % (ACK_SECRET, wait)
        d = self.daemon(config(self.redis.url, recv, extra_detection=CATCHUP,
                               extra=extra))
        self.base = "http://" + d.sockets["http"]
        write_two_crises(self.r)
        d.start()
        self.wait_ready(d)

        def volume_alerts():
            self.alive(d)
            fps = {al["labels"]["topic"]: al["fingerprint"]
                   for al in self.ctl_json(d, "alerts").get("oncall", [])
                   if al["labels"].get("alertname") == "MentionVolumeSpike"}
            return fps if len(fps) == 2 else None
        fps = wait_for(volume_alerts, 120, 0.1, what="two volume alerts")
        r = d.ctl("--json", "silence", "add", 'topic="BluePhone"',
                  "--duration", "30s", "--comment", "hold",
                  "--author", "test")
        self.assertEqual(r.returncode, 0, r.stderr)
        [sil] = self.ctl_json(d, "silence", "query")["silences"]
        ends = sil["ends"]

        def volume_notes():
            return [(h, b) for h, b in self.team.accepted()
                    if oncall_of(b).get("kind") == "firing" and
                    b["commonLabels"].get("alertname") ==
                    "MentionVolumeSpike"]

        def first():
            self.alive(d)
            return volume_notes()
        [(h1, m1)] = wait_for(first, 120, 0.1, what="the group's first note")
        self.assertEqual([al["fingerprint"] for al in m1["alerts"]],
                         [fps["AirNova"]])
        status, page = http(self.base + "/ack/" + self.link_token(
            oncall_of(m1)["resolve_url"]), "POST")
        self.assertEqual(status, 200, page)
        # Saved with the alerts: BluePhone's flush waits for the silence,
        # AirNova is listed in it as resolved.
        key = 'root:{alertname="MentionVolumeSpike"}'

        def saved():
            self.alive(d)
            rec = json.loads(self.r.hget("tocsin:oncall:groups", key))
            return rec if rec["next_flush"] == ends else None
        rec = wait_for(saved, 30, 0.05, what="the group saved")
        self.assertTrue(rec["pending"])
        self.assertEqual(rec["seq"], 1)
        self.assertIn({"fingerprint": fps["AirNova"], "sent": True,
                       "resolved": True}, rec["members"])
        self.assertIn({"fingerprint": fps["BluePhone"], "sent": False,
                       "resolved": False}, rec["members"])
        d.stop(signal.SIGKILL)
        restarted = time.time()
        self.assertLess(restarted + 10, ends)  # the flush is still ahead
        d.start()

        def second():
            self.alive(d)
            return [(h, b) for h, b in volume_notes()
                    if h["x-tocsin-delivery"] != h1["x-tocsin-delivery"]]
        [(h2, m2)] = wait_for(second, 150, 0.1, what="the group's next note")
        self.assertEqual([(al["fingerprint"], al["status"])
                          for al in m2["alerts"]],
                         [(fps["BluePhone"], "firing"),
                          (fps["AirNova"], "resolved")])
        self.assertNotEqual(h1["x-tocsin-delivery"], h2["x-tocsin-delivery"])
        # Sent when the silence ended (the flush's original time), not
        # group_wait after the restart.
        hist = self.oncall_alert(d, fps["BluePhone"])["history"]
        [sent_at] = [x["at"] for x in hist
                     if x["text"].startswith("notified: sent to team")]
        self.assertGreaterEqual(sent_at, ends)
        self.assertLess(sent_at, restarted + wait)
        ids = [h["x-tocsin-delivery"] for h, _ in self.team.accepted()]
        self.assertEqual(len(ids), len(set(ids)))
        self.assertEqual(d.stop(), 0)


class PushoverAppAckTest(OncallCase):

    def test_emergency_acknowledged_in_the_app_stops_the_escalation(self):
        po = PushoverServer(token="apptoken")
        try:
            d = self.oncall_daemon(waits=(2, 600, 3), pushover=po)
            self.crisis()
            d.start()
            self.wait_note(d, self.marie, "escalation", 0)

            def emergency():
                self.alive(d)
                with po.lock:
                    return [(rc, tag) for rc, tag in po.receipts.items()]
            [(rc, fp)] = wait_for(emergency, 90, 0.1,
                                  what="the Pushover emergency")
            with po.lock:
                sent = [f for m, p, f in po.got
                        if p == "/1/messages.json"][0]
            # The callback and the url are the signed ack link.
            self.assertIn("/ack/", sent["callback"])
            self.assertEqual(sent["callback"], sent["url"])
            self.assertEqual(sent["url_title"], "Acknowledge")
            # Nobody yet: the receipt is read, the escalation goes on.
            wait_for(lambda: any(m == "GET" and p.endswith(rc + ".json")
                                 for m, p, _ in list(po.got)), 90, 0.2,
                     what="a read of the receipt")
            self.assertEqual(self.oncall_alert(d, fp)["escalation"]
                             ["status"], "running")
            with po.lock:
                po.acked.add(rc)  # acknowledged in the Pushover app
            ann = self.wait_note(d, self.team, "ack", timeout=120)
            self.assertIn("acknowledged by pushover (pixel-7)",
                          ann["alerts"][0]["annotations"]["summary"])
            a = self.oncall_alert(d, fp)
            self.assertEqual(a["escalation"]["status"], "acked")
            self.assertEqual(self.notes(self.paul), [])
            self.assertEqual(d.stop(), 0)
        finally:
            po.stop()


class TocsinctlOncallTest(OncallCase):

    def test_routes_test_and_oncall(self):
        d = self.oncall_daemon()
        d.start()
        self.wait_ready(d)
        r = d.ctl("routes", "test", "topic=AirNova", "kind=volume",
                  "severity=critical")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("escalation crisis", r.stdout)
        self.assertIn("schedule:primary", r.stdout)
        self.assertIn("emergency", r.stdout)
        r = d.ctl("routes", "test", "topic=Orbitel", "kind=negativity")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("team", r.stdout)
        self.assertNotIn("crisis", r.stdout)
        js = self.ctl_json(d, "routes", "test", "topic=Orbitel",
                           "kind=volume")
        self.assertIn("team", js["text"])
        r = d.ctl("routes", "test", "nonsense")
        self.assertEqual(r.returncode, 2)
        r = d.ctl("oncall")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"primary: \S*(marie|Marie)")
        self.assertEqual(d.stop(), 0)

    def test_silence_holds_then_expires_and_tocsinctl_ack(self):
        d = self.oncall_daemon(waits=(3, 30, 3))
        d.start()
        self.wait_ready(d)
        r = d.ctl("silence", "add", 'topic="AirNova"', "--duration", "1h")
        self.assertEqual(r.returncode, 2)
        self.assertIn("--comment", r.stderr)
        r = d.ctl("silence", "add", 'topic="AirNova"', "--duration", "1h",
                  "--comment", "known outage", "--author", "ops")
        self.assertEqual(r.returncode, 0, r.stderr)
        sid = r.stdout.split()[1]
        q = self.ctl_json(d, "silence", "query")
        [s] = q["silences"]
        self.assertEqual((s["id"], s["state"], s["comment"],
                          s["created_by"], s["matchers"]),
                         (sid, "active", "known outage", "ops",
                          ['topic="AirNova"']))
        self.assertIn(sid, self.r.hget("tocsin:oncall:silences",
                                       sid).decode())
        table = d.ctl("silence", "query")
        self.assertRegex(table.stdout, r"%s\s+active" % sid)

        # The crisis is read after a restart (the silence comes back from
        # Redis), on a fresh detection state: the first run's clock moved
        # on while the stream was empty.
        self.assertEqual(d.stop(), 0)
        self.r.delete("tocsin:state:meta", "tocsin:state:topics")
        self.crisis()
        d.start()
        self.wait_ready(d)

        def silenced():
            self.alive(d)
            for a in self.ctl_json(d, "alerts").get("oncall", []):
                if a["labels"].get("alertname") == "MentionVolumeSpike" and \
                        any("silenced by " + sid in h["text"]
                            for h in a["history"]):
                    return a
            return None
        a = wait_for(silenced, 90, 0.2, what="the alert held by the silence")
        fp = a["fingerprint"]
        self.assertEqual(a["escalation"]["status"], "idle")
        self.assertEqual(self.notes(self.marie), [])

        r = d.ctl("silence", "expire", sid)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.ctl_json(d, "silence", "query")
                         ["silences"][0]["state"], "expired")
        note = self.wait_note(d, self.marie, "escalation", 0)
        self.assertEqual(note["alerts"][0]["fingerprint"], fp)
        r = d.ctl("silence", "expire", "nope")
        self.assertEqual(r.returncode, 1)

        r = d.ctl("ack", fp, "--by", "Paul")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("acknowledged", r.stdout)
        ann = self.wait_note(d, self.team, "ack")
        self.assertIn("acknowledged by Paul",
                      ann["alerts"][0]["annotations"]["summary"])
        a = self.oncall_alert(d, fp)
        self.assertEqual(a["escalation"]["status"], "acked")
        r = d.ctl("alerts")
        self.assertRegex(r.stdout, r"%s\s+AirNova\s+firing\s+Paul" % fp)
        r = d.ctl("ack", "no-such-alert")
        self.assertEqual(r.returncode, 1)
        self.assertIn("no firing alert", r.stderr)

        # Marie's resolve link ends the alert and tells who was notified.
        token = self.link_token(oncall_of(note)["resolve_url"])
        status, page = http(self.base + "/ack/" + token)
        self.assertEqual(status, 200, page)
        self.assertIn("resolved", page)
        done = self.wait_note(d, self.marie, "resolved")
        self.assertEqual(done["status"], "resolved")
        self.assertEqual(self.oncall_alert(d, fp)["status"], "resolved")
        self.assertEqual(http(self.base + "/ack/" + token)[0], 409)
        self.assertEqual(d.stop(), 0)


class WithoutOncallTest(OncallCase):

    def test_no_oncall_configured(self):
        rcv = self.receiver()
        d = self.daemon(config(self.redis.url, [{"name": "all",
                                                 "url": rcv.url}],
                               extra_detection=CATCHUP))
        self.crisis()
        d.start()
        self.wait_ready(d)
        # Every alert to every receiver, as before on call.
        wait_for(lambda: any(b["status"] == "firing"
                             for _, b in rcv.accepted()), 90, 0.1,
                 what="an alert at the receiver")
        self.assertTrue(all("tocsin_oncall" not in b["alerts"][0]
                            for _, b in rcv.accepted()))
        status, page = http("http://%s/ack/x.y" % d.sockets["http"])
        self.assertEqual(status, 404, page)
        r = d.ctl("silence", "query")
        self.assertEqual(r.returncode, 1)
        self.assertIn("on call is not configured", r.stderr)
        self.assertEqual(d.stop(), 0)


if __name__ == "__main__":
    unittest.main()
