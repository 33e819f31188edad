"""End-to-end tests of TLS to self-hosted gateways: tocsind delivers to
real local servers whose certificates come from a private CA made at test
time (push_servers.Pki), trusted only through a receiver's tls_ca_file.

* SMTP: STARTTLS (required by default on smtp://) and smtps://, the mail
  checked as received; a server that offers no STARTTLS, or a certificate
  from another CA, fails with a clear reason, sends nothing in plain text
  (not even AUTH) and is retried, not dropped.
* HTTPS: an ntfy and a webhook receiver trusting the private CA deliver;
  one without tls_ca_file fails on the certificate and is retried; a
  gateway asking for a client certificate gets tls_client_cert's.
* APNs: HTTP/2 over TLS with ALPN h2 (the server offers nothing else), as
  Apple runs it; notifications one after another, and a burst due at
  once (multiplexed), share one connection."""

import email
import email.policy
import json
import time
import unittest

from push_servers import (ApnsServer, HttpsSink, Pki, SmtpServer, pem)
from test_push_receivers import FP, PushCase, alert_body

MAIL = ('from = "Tocsin <alerts@tocsin.test>"; to = ["oncall@example.com"];'
        ' user = "tocsin"; password = "s3cret"; backoff_min_ms = 50;'
        ' backoff_max_ms = 200;')


class TlsCase(PushCase):
    def setUp(self):
        super().setUp()
        self.pki = Pki(self.dir)

    def pending(self):
        g = self.r.xinfo_groups("tocsin:outbox")
        return g[0]["pending"] if g else 0

    def fails(self, d, receiver):
        """The NOTIFY-FAIL lines of receiver, as logged."""
        return [ln for ln in d.stderr().splitlines()
                if "NOTIFY-FAIL" in ln and "receiver=%s " % receiver in ln]


class TestSmtpTls(TlsCase):
    def check_mail(self, smtp):
        mail_from, rcpts, raw, login = smtp.messages[0]
        self.assertEqual(mail_from, "alerts@tocsin.test")
        self.assertEqual(rcpts, ["oncall@example.com"])
        self.assertEqual(login, b"tocsin")
        m = email.message_from_bytes(raw, policy=email.policy.default)
        self.assertEqual(str(m["Subject"]),
                         "AirNova: volume 9.8× normal, 71% negative")
        self.assertEqual(m["Message-ID"], "<dlv-1@tocsin.test>")
        self.assertIn("Vol annulé, aucune info", m.get_content())

    def test_starttls_required_by_default_with_private_ca(self):
        smtp = self.keep(SmtpServer(tls=self.pki.tls_context()))
        d = self.start([
            '{ name = "mail"; type = "email"; url = "%s"; %s'
            ' tls_ca_file = "%s"; }' % (smtp.url, MAIL, self.pki.ca_file)])
        self.post("mail", "dlv-1", alert_body())
        self.wait(lambda: len(smtp.messages) == 1, "a mail")
        self.wait(self.drained, "outbox drained")
        self.assertEqual(smtp.tls_used, [True])  # the whole session
        self.check_mail(smtp)
        self.assertEqual(self.dead(), [])
        self.assertNotIn("s3cret", d.stderr())

    def test_smtps_with_private_ca(self):
        smtp = self.keep(SmtpServer(tls=self.pki.tls_context(), smtps=True))
        self.assertTrue(smtp.url.startswith("smtps://"))
        self.start([
            '{ name = "mail"; type = "email"; url = "%s"; %s'
            ' tls_ca_file = "%s"; }' % (smtp.url, MAIL, self.pki.ca_file)])
        self.post("mail", "dlv-1", alert_body())
        self.wait(lambda: len(smtp.messages) == 1, "a mail")
        self.wait(self.drained, "outbox drained")
        self.assertEqual(smtp.tls_used, [True])
        self.check_mail(smtp)

    def test_server_without_starttls_gets_nothing_in_plain_text(self):
        smtp = self.keep(SmtpServer())  # offers no STARTTLS
        d = self.start([
            '{ name = "mail"; type = "email"; url = "%s"; %s'
            ' tls_ca_file = "%s"; }' % (smtp.url, MAIL, self.pki.ca_file)])
        self.post("mail", "dlv-1", alert_body())
        self.wait(lambda: len(self.fails(d, "mail")) >= 2,
                  "two failed attempts")
        line = self.fails(d, "mail")[0]
        self.assertIn("STARTTLS not supported", line)
        self.assertIn("never sent in plain text", line)
        self.assertIn("delivery=dlv-1", line)
        self.assertIn("NOTIFY-RETRY", d.stderr())
        # No fallback: no AUTH (the password), no mail over plain text.
        self.assertEqual(smtp.logins, [])
        self.assertEqual(smtp.messages, [])
        self.assertEqual(self.dead(), [])
        self.assertEqual(self.pending(), 1)  # held for a retry

    def test_certificate_from_another_ca_is_refused(self):
        other = Pki(self.dir, name="other CA")
        smtp = self.keep(SmtpServer(tls=self.pki.tls_context()))
        d = self.start([
            '{ name = "mail"; type = "email"; url = "%s"; %s'
            ' tls_ca_file = "%s"; }' % (smtp.url, MAIL, other.ca_file)])
        self.post("mail", "dlv-1", alert_body())
        self.wait(lambda: len(self.fails(d, "mail")) >= 2,
                  "two failed attempts")
        line = self.fails(d, "mail")[0]
        self.assertIn("SSL certificate problem", line)
        self.assertIn("tls_ca_file", line)
        self.assertEqual(smtp.logins, [])
        self.assertEqual(smtp.messages, [])
        self.assertEqual(self.dead(), [])
        self.assertEqual(self.pending(), 1)


class TestHttpsPrivateCa(TlsCase):
    def test_private_ca_trusted_only_where_named(self):
        sink = self.keep(HttpsSink(self.pki.tls_context()))
        port = sink.port
        d = self.start([
            '{ name = "phone"; type = "ntfy"; url = "https://127.0.0.1:%d";'
            ' topic = "crisis"; tls_ca_file = "%s"; }'
            % (port, self.pki.ca_file),
            # The host name is checked too: localhost is in the SAN.
            '{ name = "hook"; type = "webhook";'
            ' url = "https://localhost:%d/hook"; tls_ca_file = "%s"; }'
            % (port, self.pki.ca_file),
            '{ name = "untrusted"; type = "webhook";'
            ' url = "https://127.0.0.1:%d/untrusted"; backoff_min_ms = 50;'
            # No ReceiverDown to the sink while the test runs (it counts
            # the sink's requests).
            ' backoff_max_ms = 200; down_after = 1000; }' % port])
        self.post("phone", "dlv-1", alert_body())
        self.post("hook", "dlv-2", alert_body())
        self.post("untrusted", "dlv-3", alert_body())
        self.wait(lambda: len(sink.got) == 2, "two requests")
        self.wait(lambda: len(self.fails(d, "untrusted")) >= 2,
                  "two failed attempts")
        by = {path: (h, body) for _, path, h, body in sink.got}
        self.assertEqual(sorted(by), ["/", "/hook"])
        ntfy = json.loads(by["/"][1])
        self.assertEqual(ntfy["topic"], "crisis")
        self.assertEqual(ntfy["title"],
                         "AirNova: volume 9.8× normal, 71% negative")
        hook = json.loads(by["/hook"][1])
        self.assertEqual(hook["alerts"][0]["fingerprint"], FP)
        line = self.fails(d, "untrusted")[0]
        self.assertIn("SSL certificate problem", line)
        self.assertIn("tls_ca_file", line)
        self.assertIn("delivery=dlv-3", line)
        self.assertEqual(self.fails(d, "phone"), [])
        self.assertEqual(self.fails(d, "hook"), [])
        self.assertEqual(self.dead(), [])
        self.assertEqual(self.pending(), 1)  # dlv-3, retried not dropped
        # tocsinctl test-receiver says the same.
        bad = d.ctl("test-receiver", "untrusted")
        self.assertNotEqual(bad.returncode, 0)
        self.assertIn("SSL certificate problem", bad.stdout + bad.stderr)
        self.assertIn("tls_ca_file", bad.stdout + bad.stderr)
        good = d.ctl("test-receiver", "hook")
        self.assertEqual(good.returncode, 0, good.stdout + good.stderr)
        self.assertEqual(len(sink.got), 3)  # its test notification


    def test_client_certificate_for_mutual_tls(self):
        sink = self.keep(HttpsSink(self.pki.tls_context(require_client=True)))
        cert, key = self.pki.client("tocsin")
        d = self.start([
            '{ name = "mtls"; type = "webhook"; url = "%s/in";'
            ' tls_ca_file = "%s"; tls_client_cert = "%s";'
            ' tls_client_key = "%s"; }'
            % (sink.base, self.pki.ca_file, cert, key),
            '{ name = "nocert"; type = "webhook"; url = "%s/in";'
            ' tls_ca_file = "%s"; backoff_min_ms = 50;'
            ' backoff_max_ms = 200; }' % (sink.base, self.pki.ca_file)])
        self.post("mtls", "dlv-1", alert_body())
        self.post("nocert", "dlv-2", alert_body())
        self.wait(lambda: len(sink.got) == 1, "a request")
        self.wait(lambda: len(self.fails(d, "nocert")) >= 2,
                  "two failed attempts")
        method, path, h, body = sink.got[0]
        self.assertEqual((method, path, h[":client"]), ("POST", "/in",
                                                          "tocsin"))
        self.assertEqual(json.loads(body)["alerts"][0]["fingerprint"], FP)
        self.assertIn("delivery=dlv-2", self.fails(d, "nocert")[0])
        self.assertEqual(self.fails(d, "mtls"), [])
        self.assertEqual(len(sink.got), 1)
        self.assertEqual(self.dead(), [])
        self.assertEqual(self.pending(), 1)


class TestApnsTls(TlsCase):
    def test_http2_over_tls_alpn_h2_one_connection(self):
        apns = self.keep(ApnsServer(tls=self.pki.tls_context()))
        self.assertTrue(apns.base.startswith("https://"))
        self.write("apns.p8", pem(apns.key))
        d = self.start([
            '{ name = "phone"; type = "apns"; url = "%s"; key_file = '
            '"apns.p8"; key_id = "ABC123DEFG"; team_id = "DEF123GHIJ";'
            ' topic = "com.example.oncall"; device = "aa11bb22";'
            ' tls_ca_file = "%s"; }' % (apns.base, self.pki.ca_file)])
        # One at a time: each finds the connection the previous one left
        # in libcurl's pool.
        for i in range(1, 5):
            self.post("phone", "dlv-%d" % i,
                      alert_body(status="resolved" if i % 2 == 0
                                 else "firing"))
            self.wait(lambda: len(apns.got) == i, "push %d" % i)
            self.wait(self.drained, "outbox drained")
        self.assertEqual(apns.errors, [])
        self.assertEqual(apns.alpn, ["h2"])
        self.assertEqual(apns.connections, 1)
        tokens = set()
        for n, (path, h, payload, tok) in enumerate(apns.got):
            self.assertEqual(path, "/3/device/aa11bb22")
            self.assertEqual(h[":scheme"], "https")
            self.assertEqual(h["apns-collapse-id"], FP)
            self.assertEqual(h["apns-priority"], "5" if n % 2 else "10")
            self.assertEqual(payload["aps"]["alert"]["title"].endswith(
                "AirNova: volume 9.8× normal, 71% negative"), True)
            tokens.add(tok)
        self.assertEqual(len(tokens), 1)  # the provider token is reused
        self.assertEqual(self.dead(), [])
        self.assertEqual(self.fails(d, "phone"), [])

    def test_burst_shares_one_connection(self):
        """Pushes that are due together, before any connection is open,
        wait for the first one and multiplex on it (Apple asks providers to
        keep few connections and reuse them)."""
        apns = self.keep(ApnsServer(tls=self.pki.tls_context(), delay=0.5))
        self.write("apns.p8", pem(apns.key))
        self.start([
            '{ name = "phone"; type = "apns"; url = "%s"; key_file = '
            '"apns.p8"; key_id = "ABC123DEFG"; team_id = "DEF123GHIJ";'
            ' topic = "com.example.oncall"; device = "aa11bb22";'
            ' max_concurrency = 4; rate = 1000; burst = 100;'
            ' tls_ca_file = "%s"; }' % (apns.base, self.pki.ca_file)])
        # Eight alerts (no ordering between them), written in one
        # transaction so that the notifier finds them together.
        p = self.r.pipeline(transaction=True)
        for i in range(8):
            p.xadd("tocsin:outbox", {
                "delivery": "dlv-%d" % i, "key": "fp%d" % i,
                "receiver": "phone", "body": alert_body(fp="fp%d" % i),
                "created": str(int(time.time() * 1000))})
        p.execute()
        self.wait(lambda: len(apns.got) == 8, "eight pushes")
        self.wait(self.drained, "outbox drained")
        self.assertEqual(apns.errors, [])
        self.assertGreater(apns.max_inflight, 1)  # multiplexed
        self.assertEqual(apns.connections, 1)


if __name__ == "__main__":
    unittest.main()
