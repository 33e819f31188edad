"""End-to-end tests of the email, fcm, apns and webpush receivers: tocsind
reads alert events from its outbox and delivers them to real local servers
(push_servers.py) that check each request as the gateway would: SMTP with
AUTH, the OAuth2 JWT exchange and FCM HTTP v1, APNs over HTTP/2 with an
ES256 provider token, Web Push decrypted with the subscription's key and
VAPID verified.  Gone devices and subscriptions end in the dead outbox
with their reason."""

import email
import email.header
import email.policy
import json
import os
import time
import unittest

from push_servers import (ApnsServer, FcmServer, PushoverServer, SmtpServer,
                          WebPushServer, pem)
from tocsin_harness import LEXICONS, TocsinCase, wait_for

FP = "5f0c1d2e3f405162"


def alert_body(status="firing", severity="critical", fp=FP, topic="AirNova"):
    """An outbox body, as event.c writes it (Alertmanager v4)."""
    summary = "%s: volume 9.8× normal, 71%% negative" % topic
    alert = {
        "status": status,
        "labels": {"alertname": "MentionVolumeSpike", "topic": topic,
                   "severity": severity, "window": "10m"},
        "annotations": {"summary": summary,
                        "description": "412 mentions in 10 min, 42 "
                                       "expected; talk of annulé"},
        "startsAt": "2026-11-22T08:14:52.161Z",
        "endsAt": "0001-01-01T00:00:00Z" if status == "firing"
        else "2026-11-22T09:00:00.000Z",
        "generatorURL": "http://tocsin.test/alerts/" + fp,
        "fingerprint": fp,
        "tocsin": {"window_seconds": 600, "observed": 412, "expected": 42.0,
                   "ratio": 9.8, "negatives": 290, "scored": 408,
                   "negative_share": 0.711, "negative_baseline": 0.12,
                   "score": 1, "emerging_terms": ["annulé"],
                   "samples": [{"text": "Vol annulé, aucune info",
                                "author": "@breaking_eu",
                                "followers": 140000,
                                "url": "https://social.example/p/1",
                                "id": "1", "negative": True}]}}
    return json.dumps({"version": "4", "groupKey": fp, "status": status,
                       "receiver": "r", "groupLabels": {},
                       "commonLabels": alert["labels"],
                       "commonAnnotations": alert["annotations"],
                       "externalURL": "http://tocsin.test",
                       "alerts": [alert]}, ensure_ascii=False)


class PushCase(TocsinCase):
    def setUp(self):
        super().setUp()
        self.servers = []

    def tearDown(self):
        for s in self.servers:
            s.stop()
        super().tearDown()

    def keep(self, s):
        self.servers.append(s)
        return s

    def write(self, name, text):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def start(self, receivers):
        conf = ('redis = { url = "%s"; streams = ["mentions"]; '
                'group = "tocsin"; consumer = "test"; block_ms = 200; '
                'checkpoint_ms = 200; };\n'
                'receivers = (\n%s\n);\n'
                'sentiment = { lexicons = "%s"; };\n'
                'alerts = { external_url = "http://tocsin.test"; };\n'
                'log = { level = "info"; };\n') % (
                    self.redis.url, ",\n".join(receivers), LEXICONS)
        d = self.daemon(conf).start()
        return d

    def post(self, receiver, delivery, body):
        self.r.xadd("tocsin:outbox", {
            "delivery": delivery, "key": FP, "receiver": receiver,
            "body": body, "created": str(int(time.time() * 1000))})

    def dead(self):
        return [{k.decode(): v.decode() for k, v in f.items()}
                for _, f in self.r.xrange("tocsin:outbox:dead")]

    def wait(self, pred, what, timeout=30):
        """wait_for, with the daemons' last log lines when it times out."""
        try:
            return wait_for(pred, timeout, what=what)
        except AssertionError as e:
            logs = "\n".join(d.stderr()[-3000:] for d in self.daemons)
            raise AssertionError("%s\n--- tocsind:\n%s" % (e, logs))

    def drained(self):
        for d in self.daemons:
            if d.crashed():
                raise AssertionError(d.stderr()[-3000:])
        g = [g for g in self.r.xinfo_groups("tocsin:outbox")]
        return g and g[0]["pending"] == 0 and g[0].get("lag", 1) == 0


class TestEmail(PushCase):
    def test_smtp_with_auth_headers_and_body(self):
        smtp = self.keep(SmtpServer(user="tocsin", password="s3cret"))
        self.write("smtp.pw", "s3cret\n")
        d = self.start([
            '{ name = "mail"; type = "email"; url = "%s"; starttls = false;'
            ' from = "Équipe Tocsin <alerts@tocsin.test>";'
            ' to = ["oncall@example.com", "Boss <boss@example.com>"];'
            ' user = "tocsin"; password_file = "smtp.pw"; }' % smtp.url])
        self.post("mail", "dlv-1", alert_body())
        self.post("mail", "dlv-2", alert_body(status="resolved"))
        self.wait(lambda: len(smtp.messages) == 2, "two mails")
        self.wait(self.drained, "outbox drained")
        mail_from, rcpts, raw, login = smtp.messages[0]
        self.assertEqual(mail_from, "alerts@tocsin.test")
        self.assertEqual(rcpts, ["oncall@example.com", "boss@example.com"])
        self.assertEqual(login, b"tocsin")
        m = email.message_from_bytes(raw, policy=email.policy.default)
        self.assertEqual(str(m["From"]),
                         "Équipe Tocsin <alerts@tocsin.test>")
        self.assertEqual(m["To"].addresses[1].addr_spec, "boss@example.com")
        self.assertEqual(str(m["Subject"]),
                         "AirNova: volume 9.8× normal, 71% negative")
        self.assertEqual(m["Message-ID"], "<dlv-1@tocsin.test>")
        self.assertEqual(m["References"], "<alert-%s@tocsin.test>" % FP)
        self.assertIsNotNone(m["Date"].datetime)
        self.assertEqual(m.get_content_type(), "text/plain")
        text = m.get_content()
        self.assertIn("Vol annulé, aucune info", text)
        self.assertIn("http://tocsin.test/alerts/" + FP, text)
        m2 = email.message_from_bytes(smtp.messages[1][2],
                                      policy=email.policy.default)
        self.assertTrue(str(m2["Subject"]).startswith("Resolved: "))
        self.assertEqual(m2["References"], m["References"])
        self.assertEqual(self.dead(), [])
        self.assertNotIn("s3cret", d.stderr())

    def test_wrong_password_is_retried_not_lost(self):
        smtp = self.keep(SmtpServer(user="tocsin", password="right"))
        d = self.start([
            '{ name = "mail"; type = "email"; url = "%s"; starttls = false;'
            ' from = "alerts@tocsin.test"; to = ["oncall@example.com"];'
            ' user = "tocsin"; password = "wrong"; backoff_min_ms = 50;'
            ' backoff_max_ms = 100; }' % smtp.url])
        self.post("mail", "dlv-1", alert_body())
        self.wait(lambda: "NOTIFY-RETRY" in d.stderr(), "a retry")
        self.assertEqual(smtp.messages, [])
        self.assertNotIn("wrong", d.stderr().replace("wrong password", ""))
        g = self.r.xinfo_groups("tocsin:outbox")[0]
        self.assertEqual(g["pending"], 1)  # still held, not acked


    def test_refused_recipient_goes_to_the_dead_outbox(self):
        smtp = self.keep(SmtpServer(user="tocsin", password="right"))
        smtp.refuse.add("nobody@example.com")
        self.start([
            '{ name = "mail"; type = "email"; url = "%s"; starttls = false;'
            ' from = "alerts@tocsin.test"; to = ["nobody@example.com"];'
            ' user = "tocsin"; password = "right"; }' % smtp.url])
        self.post("mail", "dlv-1", alert_body())
        self.wait(lambda: len(self.dead()) == 1, "a dead letter")
        self.wait(self.drained, "outbox drained")
        dead = self.dead()[0]
        self.assertEqual(dead["delivery"], "dlv-1")
        self.assertEqual(dead["status"], "550")
        self.assertIn("mail refused for good (SMTP 550)", dead["reason"])
        self.assertEqual(smtp.messages, [])


class TestPushoverReceipt(PushCase):
    def test_emergency_receipt_read_back_on_resolve(self):
        po = self.keep(PushoverServer(token="apptoken"))
        d = self.start([
            '{ name = "boss"; type = "pushover"; url = "%s";'
            ' token = "apptoken"; user = "uQiRzpo4DXghDmr9QzzfQu27cmVRsG"; }'
            % po.base])
        fa, fb = "aaaa000000000001", "bbbb000000000002"
        self.post("boss", "a-f", alert_body(fp=fa))
        self.post("boss", "b-f", alert_body(fp=fb))
        self.wait(lambda: len(po.receipts) == 2, "two emergencies")
        acked = [rc for rc, tag in po.receipts.items() if tag == fa]
        po.acked.update(acked)  # someone acknowledged alert A on a phone
        self.post("boss", "a-r", alert_body(status="resolved", fp=fa))
        self.post("boss", "b-r", alert_body(status="resolved", fp=fb))
        self.wait(lambda: len(po.got) == 8, "eight requests")
        self.wait(self.drained, "outbox drained")
        steps = [(m, p) for m, p, _ in po.got]
        for fp in (fa, fb):
            rc = [r for r, t in po.receipts.items() if t == fp][0]
            # cancel, then "Resolved", then the read-back
            i = steps.index(("POST", "/1/receipts/cancel_by_tag/%s.json"
                             % fp))
            self.assertIn(("GET", "/1/receipts/%s.json" % rc), steps[i:])
        reads = [f for m, _, f in po.got if m == "GET"]
        self.assertEqual([f["token"] for f in reads], ["apptoken"] * 2)
        self.wait(lambda: "NOTIFY-NOACK" in d.stderr(), "the NOACK line")
        log = d.stderr()
        self.assertIn("NOTIFY-ACK receiver=boss alert=%s: emergency "
                      "acknowledged at 2026-11-18T" % fa, log)
        self.assertIn("on device pixel-7", log)
        self.assertIn("NOTIFY-NOACK receiver=boss alert=%s: emergency "
                      "resolved without acknowledgement" % fb, log)
        self.assertNotIn("apptoken", log)
        self.assertNotIn("uQiRzpo4DXghDmr9QzzfQu27cmVRsG", log)
        self.assertEqual(self.dead(), [])


class TestFcm(PushCase):
    def fcm_conf(self, fcm, name="fcm", target='device = "dev-1";'):
        self.write(name + ".json", fcm.service_account())
        return ('{ name = "%s"; type = "fcm"; url = "%s";'
                ' service_account_file = "%s.json"; %s ttl = 600; }' % (
                    name, fcm.base, name, target))

    def test_token_exchanged_once_and_reused(self):
        fcm = self.keep(FcmServer())
        self.start([self.fcm_conf(fcm)])
        for i in range(3):
            self.post("fcm", "dlv-%d" % i, alert_body())
        self.wait(lambda: len(fcm.sends) == 3, "three sends")
        self.wait(self.drained, "outbox drained")
        self.assertEqual(fcm.errors, [])
        self.assertEqual(len(fcm.exchanges), 1)
        headers, body = fcm.sends[0]
        self.assertEqual(headers["authorization"], "Bearer ya29.test-0")
        msg = body["message"]
        self.assertEqual(set(body), {"message"})
        self.assertEqual(msg["token"], "dev-1")
        self.assertEqual(msg["notification"]["title"],
                         "AirNova: volume 9.8× normal, 71% negative")
        self.assertIn("Vol annulé", msg["notification"]["body"])
        self.assertEqual(msg["android"], {"priority": "high", "ttl": "600s",
                                          "collapse_key": FP})
        self.assertEqual(msg["apns"]["headers"], {
            "apns-priority": "10", "apns-push-type": "alert",
            "apns-collapse-id": FP})
        self.assertEqual(msg["apns"]["payload"]["aps"], {
            "interruption-level": "time-sensitive", "sound": "default"})
        self.assertEqual(msg["data"], {
            "fingerprint": FP, "status": "firing", "severity": "critical",
            "link": "http://tocsin.test/alerts/" + FP})
        log = self.daemons[0].stderr()
        self.assertNotIn("ya29.", log)           # access tokens
        self.assertNotIn("eyJ", log)             # JWTs
        self.assertNotIn("PRIVATE KEY", log)

    def test_revoked_token_is_replaced(self):
        # FCM answers 401 to a token it no longer takes: the cached token
        # is dropped and the retry exchanges the JWT again.
        fcm = self.keep(FcmServer())
        self.start([self.fcm_conf(fcm, target='topic = "oncall";')
                    .replace("ttl = 600;", "ttl = 600; backoff_min_ms = 50;"
                             " backoff_max_ms = 100;")])
        self.post("fcm", "dlv-1", alert_body())
        self.wait(lambda: len(fcm.sends) == 1, "first send")
        fcm.revoke_all()
        self.post("fcm", "dlv-2", alert_body(status="resolved"))
        self.wait(lambda: len(fcm.sends) == 2, "second send")
        self.wait(self.drained, "outbox drained")
        self.assertEqual(fcm.errors, [])
        self.assertEqual(len(fcm.exchanges), 2)
        self.assertEqual(fcm.sends[1][0]["authorization"],
                         "Bearer ya29.test-1")
        msg = fcm.sends[1][1]["message"]
        self.assertEqual(msg["topic"], "oncall")
        self.assertNotIn("token", msg)
        self.assertEqual(msg["android"]["priority"], "normal")
        self.assertTrue(msg["notification"]["title"].startswith("Resolved"))
        self.assertEqual(self.dead(), [])


class TestApns(PushCase):
    def test_http2_provider_token_and_unregistered_device(self):
        apns = self.keep(ApnsServer())
        apns.gone.add("dead00")
        self.write("apns.p8", pem(apns.key))
        common = ('type = "apns"; url = "%s"; key_file = "apns.p8";'
                  ' key_id = "ABC123DEFG"; team_id = "DEF123GHIJ";'
                  ' topic = "com.example.oncall"; ttl = 600;' % apns.base)
        d = self.start([
            '{ name = "phone"; %s device = "aa11bb22"; }' % common,
            '{ name = "old"; %s device = "dead00"; critical = true; }'
            % common])
        self.post("phone", "dlv-1", alert_body())
        self.post("phone", "dlv-2", alert_body(status="resolved"))
        self.post("old", "dlv-3", alert_body())
        self.wait(lambda: len(apns.got) == 3, "three pushes")
        self.wait(self.drained, "outbox drained")
        self.assertEqual(apns.errors, [])
        by = {}
        for path, h, payload, tok in apns.got:
            by.setdefault(path, []).append((h, payload, tok))
        (h1, p1, t1), (h2, p2, t2) = by["/3/device/aa11bb22"]
        self.assertEqual(t1, t2)  # the provider token is reused
        self.assertEqual(h1["apns-priority"], "10")
        self.assertEqual(h1["apns-collapse-id"], FP)
        self.assertAlmostEqual(int(h1["apns-expiration"]),
                               time.time() + 600, delta=120)
        self.assertEqual(p1["aps"]["alert"]["title"],
                         "AirNova: volume 9.8× normal, 71% negative")
        self.assertIn("Vol annulé", p1["aps"]["alert"]["body"])
        self.assertEqual(p1["aps"]["interruption-level"], "time-sensitive")
        self.assertEqual(p1["aps"]["sound"], "default")
        self.assertEqual(p1["aps"]["thread-id"], FP)
        self.assertEqual(h2["apns-priority"], "5")
        self.assertEqual(p2["aps"]["interruption-level"], "active")
        (h3, p3, _), = by["/3/device/dead00"]
        self.assertEqual(p3["aps"]["interruption-level"], "critical")
        self.assertEqual(p3["aps"]["sound"]["critical"], 1)
        dead = self.dead()
        self.assertEqual(len(dead), 1)
        self.assertEqual(dead[0]["delivery"], "dlv-3")
        self.assertEqual(dead[0]["status"], "410")
        self.assertIn("device token no longer active", dead[0]["reason"])
        self.assertIn("Unregistered", dead[0]["reason"])
        self.assertIn("NOTIFY-GIVEUP", d.stderr())
        self.assertNotIn("eyJ", d.stderr())      # the provider token
        self.assertNotIn("dead00", d.stderr().split("NOTIFY-GIVEUP")[0]
                         .replace("dlv-3", ""))


class TestWebPush(PushCase):
    def test_encrypted_vapid_signed_and_gone_subscription(self):
        wp = self.keep(WebPushServer())
        self.write("vapid.pem", pem(wp.vapid))
        url, p256dh, auth = wp.subscribe("alice")
        gurl, gp, ga = wp.subscribe("gone", gone=True)
        self.write("alice.auth", auth + "\n")
        tmpl = ('{ name = "%s"; type = "webpush"; url = "%s";'
                ' p256dh = "%s"; %s vapid_key_file = "vapid.pem";'
                ' vapid_subject = "mailto:ops@tocsin.test"; ttl = 3600; }')
        self.start([tmpl % ("alice", url, p256dh, 'auth_file = "alice.auth";'),
                    tmpl % ("bob", gurl, gp, 'auth = "%s";' % ga)])
        self.post("alice", "dlv-1", alert_body())
        self.post("alice", "dlv-2", alert_body(status="resolved",
                                              severity="warning"))
        self.post("bob", "dlv-3", alert_body())
        self.wait(lambda: len(wp.got) == 2 and len(self.dead()) == 1, "two pushes and one dead")
        self.wait(self.drained, "outbox drained")
        self.assertEqual(wp.errors, [])
        path, h, msg, claims = wp.got[0]
        self.assertEqual(path, "/wpush/v2/alice")
        self.assertEqual(h["ttl"], "3600")
        self.assertEqual(h["urgency"], "high")
        self.assertEqual(h["topic"], FP)
        self.assertEqual(msg["title"],
                         "AirNova: volume 9.8× normal, 71% negative")
        self.assertIn("Vol annulé", msg["body"])
        self.assertEqual(msg["url"], "http://tocsin.test/alerts/" + FP)
        self.assertEqual(msg["tag"], FP)
        self.assertEqual(msg["status"], "firing")
        self.assertEqual(wp.got[1][1]["urgency"], "low")
        self.assertEqual(wp.got[1][2]["status"], "resolved")
        dead = self.dead()
        self.assertEqual(dead[0]["delivery"], "dlv-3")
        self.assertEqual(dead[0]["status"], "410")
        self.assertIn("subscription gone", dead[0]["reason"])
        log = self.daemons[0].stderr()
        self.assertNotIn("eyJ", log)             # VAPID JWTs
        self.assertNotIn(auth, log)
        self.assertNotIn("/wpush/v2/", log)      # endpoints are capabilities


if __name__ == "__main__":
    unittest.main()
