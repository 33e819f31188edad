"""Local stand-ins for the push gateways, for the integration tests and
the fan-out benchmark.  Each is a real server on 127.0.0.1 that checks
what the gateway checks and records what it got:

* SmtpServer: aiosmtpd, with AUTH (LOGIN/PLAIN) against one user;
* FcmServer: the OAuth2 token endpoint (verifies the RS256 service-account
  JWT with the public key) and FCM HTTP v1 messages:send (verifies the
  Bearer token it issued);
* ApnsServer: HTTP/2 only (h2c with prior knowledge, or TLS with ALPN
  h2 and nothing else, as Apple runs it), verifies the ES256
  provider token and answers 410 Unregistered for devices it was told are
  gone;
* WebPushServer: decrypts the aes128gcm body with the subscription's
  private key (cryptography's HKDF and AESGCM, independently of tocsin)
  and verifies the VAPID JWT against the k= key.

Pki makes a throwaway private CA and a server certificate for 127.0.0.1
and localhost at test time; given its tls_context(), SmtpServer speaks
STARTTLS (required) or implicit TLS (smtps), HttpsSink is an HTTPS
gateway, and ApnsServer speaks HTTP/2 over TLS with ALPN h2 as Apple does.

Nothing is mocked in tocsind: these servers speak the wire protocols.
"""

import base64
import datetime
import ipaddress
import json
import os
import socket
import ssl
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import \
    encode_dss_signature
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def unb64u(s):
    s = s.encode() if isinstance(s, str) else s
    return base64.urlsafe_b64decode(s + b"=" * (-len(s) % 4))


def pem(key):
    return key.private_bytes(serialization.Encoding.PEM,
                             serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def verify_jwt(token, pub):
    """(header, claims) if token is a JWT signed by pub, else raise."""
    h64, c64, s64 = token.split(".")
    signed = (h64 + "." + c64).encode()
    sig = unb64u(s64)
    header = json.loads(unb64u(h64))
    if isinstance(pub, ec.EllipticCurvePublicKey):
        assert header["alg"] == "ES256", header
        assert len(sig) == 64
        der = encode_dss_signature(int.from_bytes(sig[:32], "big"),
                                   int.from_bytes(sig[32:], "big"))
        pub.verify(der, signed, ec.ECDSA(hashes.SHA256()))
    else:
        assert header["alg"] == "RS256", header
        pub.verify(sig, signed, padding.PKCS1v15(), hashes.SHA256())
    return header, json.loads(unb64u(c64))


class Pki:
    """A private CA (P-256, made now) and a server certificate it signed
    for 127.0.0.1, ::1 and localhost, written as PEM files under dir:
    ca_file (what tls_ca_file names), cert_file, key_file.  client()
    issues a client certificate (for tls_client_cert / tls_client_key)."""

    def __init__(self, dir, name="tocsin test CA"):
        self.dir = dir
        self.tag = name.replace(" ", "_")
        self.ca_key = ec.generate_private_key(ec.SECP256R1())
        self.ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME,
                                                     name)])
        ski = x509.SubjectKeyIdentifier.from_public_key(
            self.ca_key.public_key())
        usage = x509.KeyUsage(
            digital_signature=True, key_cert_sign=True, crl_sign=True,
            content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False,
            encipher_only=False, decipher_only=False)
        self.ca = (self._builder(self.ca_name, self.ca_key)
                   .add_extension(x509.BasicConstraints(ca=True,
                                                        path_length=0),
                                  critical=True)
                   .add_extension(usage, critical=True)
                   .add_extension(ski, critical=False)
                   .sign(self.ca_key, hashes.SHA256()))
        self.ca_file = self._write("ca.pem", self.ca)
        self.cert_file, self.key_file = self.issue(
            "server", "localhost", ExtendedKeyUsageOID.SERVER_AUTH,
            [x509.DNSName("localhost"),
             x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
             x509.IPAddress(ipaddress.ip_address("::1"))])

    def _builder(self, subject, key):
        now = datetime.datetime.now(datetime.timezone.utc)
        day = datetime.timedelta(days=1)
        return (x509.CertificateBuilder()
                .subject_name(subject).issuer_name(self.ca_name)
                .public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - day).not_valid_after(now + day))

    def _write(self, what, cert=None, key=None):
        path = os.path.join(self.dir, "%s-%s" % (self.tag, what))
        with open(path, "w") as f:
            f.write(pem(key) if key else
                    cert.public_bytes(serialization.Encoding.PEM).decode())
        return path

    def issue(self, what, cn, eku, san=()):
        """A certificate for cn signed by the CA: (cert_file, key_file)."""
        key = ec.generate_private_key(ec.SECP256R1())
        b = (self._builder(x509.Name([x509.NameAttribute(
                 NameOID.COMMON_NAME, cn)]), key)
             .add_extension(x509.BasicConstraints(ca=False,
                                                  path_length=None),
                            critical=True)
             .add_extension(x509.ExtendedKeyUsage([eku]), critical=False)
             .add_extension(x509.AuthorityKeyIdentifier
                            .from_issuer_public_key(self.ca_key.public_key()),
                            critical=False))
        if san:
            b = b.add_extension(x509.SubjectAlternativeName(list(san)),
                                critical=False)
        cert = b.sign(self.ca_key, hashes.SHA256())
        return (self._write(what + ".pem", cert),
                self._write(what + ".key", key=key))

    def client(self, cn="tocsin"):
        return self.issue("client-" + cn, cn, ExtendedKeyUsageOID.CLIENT_AUTH)

    def tls_context(self, alpn=None, require_client=False):
        """A server-side SSLContext with the certificate (TLS 1.2+);
        require_client: a client certificate from this CA is required."""
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(self.cert_file, self.key_file)
        if alpn:
            ctx.set_alpn_protocols(alpn)
        if require_client:
            ctx.verify_mode = ssl.CERT_REQUIRED
            ctx.load_verify_locations(self.ca_file)
        return ctx


class _Http:
    """A threaded HTTP/1.1 server calling handle(method, path, headers,
    body) -> (status, headers dict, body bytes), with an optional delay."""

    def __init__(self, delay=0.0, tls=None):
        outer = self
        self.delay = delay

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self, method, body):
                hdrs = {k.lower(): v for k, v in self.headers.items()}
                peer = getattr(self.connection, "getpeercert", None)
                cert = peer() if peer else None
                if cert:  # ":client", the client certificate's CN (mTLS)
                    hdrs[":client"] = dict(
                        x[0] for x in cert["subject"])["commonName"]
                if outer.delay:
                    time.sleep(outer.delay)
                status, rh, rb = outer.handle(method, self.path, hdrs, body)
                self.send_response(status)
                for k, v in rh.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(rb)))
                self.end_headers()
                self.wfile.write(rb)

            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                self._serve("POST", self.rfile.read(n))

            def do_GET(self):
                self._serve("GET", b"")

            def log_message(self, *a):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.base = "http://127.0.0.1:%d" % self.port
        if tls:  # HTTPS: the handshake is done when a request is accepted
            self.server.socket = tls.wrap_socket(self.server.socket,
                                                 server_side=True)
            self.base = "https://127.0.0.1:%d" % self.port
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class HttpsSink(_Http):
    """An HTTPS gateway (a self-hosted ntfy, gotify, webhook...) that
    records every request and answers 200."""

    def __init__(self, tls):
        self.lock = threading.Lock()
        self.got = []  # (method, path, headers, body)
        super().__init__(tls=tls)

    def handle(self, method, path, headers, body):
        with self.lock:
            self.got.append((method, path, headers, body))
        return 200, {"Content-Type": "application/json"}, b"{}"


class FcmServer(_Http):
    def __init__(self, project="tocsin-test", expires_in=3600, delay=0.0):
        self.lock = threading.Lock()
        self.key = rsa.generate_private_key(public_exponent=65537,
                                            key_size=2048)
        self.email = "tocsin@%s.iam.gserviceaccount.com" % project
        self.project = project
        self.expires_in = expires_in
        self.tokens = []     # issued access tokens
        self.revoked = set()
        self.exchanges = []  # (header, claims) of verified JWTs
        self.sends = []      # (headers, body json)
        self.errors = []
        super().__init__(delay)
        self.token_uri = self.base + "/token"

    def revoke_all(self):
        with self.lock:
            self.revoked.update(self.tokens)

    def service_account(self):
        return json.dumps({
            "type": "service_account", "project_id": self.project,
            "private_key_id": "kid-42", "private_key": pem(self.key),
            "client_email": self.email, "client_id": "1",
            "token_uri": self.token_uri})

    def handle(self, method, path, headers, body):
        with self.lock:
            try:
                return self._handle(path, headers, body)
            except Exception as e:  # recorded, answered 400
                self.errors.append("%s: %r" % (path, e))
                return 400, {}, b'{"error":"invalid_request"}'

    def _handle(self, path, headers, body):
        if path == "/token":
            assert headers["content-type"] == \
                "application/x-www-form-urlencoded"
            form = urllib.parse.parse_qs(body.decode(), strict_parsing=True)
            assert form["grant_type"] == [
                "urn:ietf:params:oauth:grant-type:jwt-bearer"]
            h, c = verify_jwt(form["assertion"][0], self.key.public_key())
            assert h.get("kid") == "kid-42"
            assert c["iss"] == self.email and c["aud"] == self.token_uri
            assert c["scope"] == \
                "https://www.googleapis.com/auth/firebase.messaging"
            assert 0 < c["exp"] - c["iat"] <= 3600
            assert abs(c["iat"] - time.time()) < 300
            tok = "ya29.test-%d" % len(self.tokens)
            self.tokens.append(tok)
            self.exchanges.append((h, c))
            return 200, {"Content-Type": "application/json"}, json.dumps({
                "access_token": tok, "expires_in": self.expires_in,
                "token_type": "Bearer"}).encode()
        want = "/v1/projects/%s/messages:send" % self.project
        assert path == want, path
        auth = headers.get("authorization", "")
        if not auth.startswith("Bearer ") or auth[7:] not in self.tokens \
                or auth[7:] in self.revoked:
            return 401, {}, b'{"error":{"code":401,"status":"UNAUTHENTICATED"}}'
        assert headers["content-type"] == "application/json"
        msg = json.loads(body)
        self.sends.append((headers, msg))
        return 200, {"Content-Type": "application/json"}, json.dumps(
            {"name": "projects/%s/messages/%d" % (self.project,
                                                 len(self.sends))}).encode()


class PushoverServer(_Http):
    """Pushover's messages, receipts and cancel_by_tag endpoints.  An
    emergency (priority 2) gets a receipt; acked holds the receipts a
    person acknowledged."""

    def __init__(self, token="apptoken"):
        self.lock = threading.Lock()
        self.token = token
        self.got = []     # (method, path, form or query dict)
        self.receipts = {}  # receipt -> tags
        self.acked = set()
        super().__init__()

    def handle(self, method, path, headers, body):
        with self.lock:
            u = urllib.parse.urlsplit(path)
            form = urllib.parse.parse_qs(
                body.decode() if method == "POST" else u.query)
            form = {k: v[0] for k, v in form.items()}
            self.got.append((method, u.path, form))
            if form.get("token") != self.token:
                return 400, {}, b'{"status":0,"errors":["bad token"]}'
            ok = {"Content-Type": "application/json"}
            if method == "POST" and u.path == "/1/messages.json":
                out = {"status": 1, "request": "req%d" % len(self.got)}
                if form.get("priority") == "2":
                    rc = "rcpt%d" % len(self.receipts)
                    self.receipts[rc] = form.get("tags", "")
                    out["receipt"] = rc
                return 200, ok, json.dumps(out).encode()
            if method == "POST" and u.path.startswith(
                    "/1/receipts/cancel_by_tag/"):
                return 200, ok, b'{"status":1}'
            if method == "GET" and u.path.startswith("/1/receipts/"):
                rc = u.path[len("/1/receipts/"):-len(".json")]
                if rc not in self.receipts:
                    return 404, ok, b'{"status":0}'
                a = rc in self.acked
                return 200, ok, json.dumps({
                    "status": 1, "acknowledged": int(a),
                    "acknowledged_at": 1795000000 if a else 0,
                    "acknowledged_by": "uQiRzpo4DXghDmr9QzzfQu27cmVRsG" if a
                    else "", "acknowledged_by_device": "pixel-7" if a else "",
                    "last_delivered_at": 1795000000, "expired": 0,
                    "expires_at": 1795003600, "called_back": 0,
                    "called_back_at": 0}).encode()
            return 404, ok, b'{"status":0}'


class WebPushServer(_Http):
    """One push service; subscriptions are made with subscribe()."""

    def __init__(self, delay=0.0):
        self.lock = threading.Lock()
        self.vapid = ec.generate_private_key(ec.SECP256R1())
        self.subs = {}   # path -> (private key, auth, gone)
        self.got = []    # (path, headers, plaintext json, vapid claims)
        self.errors = []
        super().__init__(delay)

    def subscribe(self, name, gone=False):
        key = ec.generate_private_key(ec.SECP256R1())
        auth = os.urandom(16)
        path = "/wpush/v2/" + name
        self.subs[path] = (key, auth, gone)
        pub = key.public_key().public_bytes(
            serialization.Encoding.X962,
            serialization.PublicFormat.UncompressedPoint)
        return self.base + path, b64u(pub), b64u(auth)

    def handle(self, method, path, headers, body):
        with self.lock:
            try:
                return self._handle(path, headers, body)
            except Exception as e:
                self.errors.append("%s: %r" % (path, e))
                return 400, {}, b""

    def _handle(self, path, headers, body):
        key, auth, gone = self.subs[path]
        if gone:
            return 410, {}, b""
        # VAPID (RFC 8292)
        a = headers["authorization"]
        assert a.startswith("vapid t="), a
        t, k = a[len("vapid t="):].split(", k=")
        vpub = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(),
                                                            unb64u(k))
        assert vpub.public_numbers() == \
            self.vapid.public_key().public_numbers()
        _, claims = verify_jwt(t, vpub)
        assert claims["aud"] == self.base, claims
        assert 0 < claims["exp"] - time.time() <= 24 * 3600
        assert claims["sub"].startswith("mailto:")
        assert headers["content-encoding"] == "aes128gcm"
        assert int(headers["ttl"]) >= 0
        # RFC 8291 / 8188
        salt, rs, idlen = body[:16], int.from_bytes(body[16:20], "big"), \
            body[20]
        keyid, ct = body[21:21 + idlen], body[21 + idlen:]
        assert rs == 4096 and idlen == 65 and len(ct) <= rs
        as_pub = ec.EllipticCurvePublicKey.from_encoded_point(
            ec.SECP256R1(), keyid)
        ua_pub = key.public_key().public_bytes(
            serialization.Encoding.X962,
            serialization.PublicFormat.UncompressedPoint)
        secret = key.exchange(ec.ECDH(), as_pub)
        ikm = HKDF(hashes.SHA256(), 32, auth,
                   b"WebPush: info\0" + ua_pub + keyid).derive(secret)
        cek = HKDF(hashes.SHA256(), 16, salt,
                   b"Content-Encoding: aes128gcm\0").derive(ikm)
        nonce = HKDF(hashes.SHA256(), 12, salt,
                     b"Content-Encoding: nonce\0").derive(ikm)
        pt = AESGCM(cek).decrypt(nonce, ct, None).rstrip(b"\0")
        assert pt[-1:] == b"\x02", pt[-5:]
        self.got.append((path, headers, json.loads(pt[:-1]), claims))
        return 201, {"Location": self.base + "/msg/%d" % len(self.got)}, b""


class ApnsServer:
    """HTTP/2 APNs stand-in: h2c with prior knowledge, or, given a server
    SSLContext (Pki.tls_context), TLS offering ALPN "h2" only.
    connections counts the connections that got as far as HTTP/2 (after
    the TLS handshake); alpn lists what each TLS one negotiated."""

    def __init__(self, team="DEF123GHIJ", kid="ABC123DEFG",
                 topic="com.example.oncall", delay=0.0, tls=None):
        import h2.config
        import h2.connection
        import h2.events
        self.h2 = (h2.config, h2.connection, h2.events)
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.team, self.kid, self.topic = team, kid, topic
        self.gone = set()
        self.delay = delay
        self.lock = threading.Lock()
        self.got = []     # (path, headers, payload, token)
        self.errors = []
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.tls = tls
        if tls:
            tls.set_alpn_protocols(["h2"])
        self.base = "%s://127.0.0.1:%d" % ("https" if tls else "http",
                                           self.port)
        self.connections = 0
        self.alpn = []
        self.inflight = 0      # requests being answered now
        self.max_inflight = 0  # the most at once
        self.running = True
        self.conns = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while self.running:
            try:
                s, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(s)
            threading.Thread(target=self._serve, args=(s,),
                             daemon=True).start()

    def _serve(self, s):
        if self.tls:
            try:
                t = self.tls.wrap_socket(s, server_side=True)
            except (OSError, ssl.SSLError):  # the client refused us
                s.close()
                return
            with self.lock:
                self.conns.append(t)
                self.alpn.append(t.selected_alpn_protocol())
            if t.selected_alpn_protocol() != "h2":
                t.close()
                return
            # One thread owns the TLS socket (an SSL object is not for
            # concurrent use); HTTP/2 runs on a plain socket pair.
            s, inner = socket.socketpair()
            threading.Thread(target=self._pump, args=(t, inner),
                             daemon=True).start()
        with self.lock:
            self.connections += 1
        self._serve_h2(s)

    @staticmethod
    def _pump(t, inner):
        import select
        try:
            while True:
                r = [t] if t.pending() else \
                    select.select([t, inner], [], [])[0]
                if t in r:
                    data = t.recv(65536)
                    if not data:
                        return
                    inner.sendall(data)
                if inner in r:
                    data = inner.recv(65536)
                    if not data:
                        return
                    t.sendall(data)
        except OSError:
            return
        finally:
            t.close()
            inner.close()

    def _serve_h2(self, s):
        cfg, conn_mod, ev = self.h2
        conn = conn_mod.H2Connection(config=cfg.H2Configuration(
            client_side=False, header_encoding="utf-8"))
        conn.initiate_connection()
        wlock = threading.Lock()
        s.sendall(conn.data_to_send())
        streams = {}
        try:
            while True:
                data = s.recv(65536)
                if not data:
                    return
                with wlock:
                    events = conn.receive_data(data)
                if os.environ.get("H2DEBUG"):
                    print("EV", events, flush=True)
                for e in events:
                    if isinstance(e, ev.RequestReceived):
                        streams[e.stream_id] = [dict(e.headers), b""]
                    elif isinstance(e, ev.DataReceived):
                        streams[e.stream_id][1] += e.data
                        with wlock:
                            conn.acknowledge_received_data(
                                e.flow_controlled_length, e.stream_id)
                    elif isinstance(e, ev.StreamEnded):
                        h, b = streams.pop(e.stream_id)
                        threading.Thread(
                            target=self._answer,
                            args=(s, conn, wlock, e.stream_id, h, b),
                            daemon=True).start()
                with wlock:
                    out = conn.data_to_send()
                    if out:
                        s.sendall(out)
        except OSError:
            return
        except Exception as e:  # a protocol error: recorded, fails the test
            with self.lock:
                self.errors.append("connection: %r" % e)
        finally:
            s.close()

    def _answer(self, s, conn, wlock, sid, h, b):
        with self.lock:
            self.inflight += 1
            self.max_inflight = max(self.max_inflight, self.inflight)
        try:
            self._answer_now(s, conn, wlock, sid, h, b)
        finally:
            with self.lock:
                self.inflight -= 1

    def _answer_now(self, s, conn, wlock, sid, h, b):
        if self.delay:
            time.sleep(self.delay)
        status, body = self.handle(h, b)
        with wlock:
            try:
                conn.send_headers(sid, [(":status", str(status)),
                                        ("apns-id", "00000000-0000-0000-"
                                         "0000-%012d" % sid),
                                        ("content-length", str(len(body)))])
                if body:
                    conn.send_data(sid, body, end_stream=True)
                else:
                    conn.end_stream(sid)
                s.sendall(conn.data_to_send())
            except Exception:
                pass

    def handle(self, h, b):
        with self.lock:
            try:
                assert h[":method"] == "POST", h
                path = h[":path"]
                assert path.startswith("/3/device/"), path
                auth = h["authorization"]
                assert auth.startswith("bearer "), auth
                hdr, claims = verify_jwt(auth[7:], self.key.public_key())
                assert hdr["kid"] == self.kid and claims["iss"] == self.team
                assert abs(claims["iat"] - time.time()) < 3600
                assert h["apns-topic"] == self.topic
                assert h["apns-push-type"] == "alert"
                payload = json.loads(b)
                self.got.append((path, h, payload, auth[7:]))
                if path[len("/3/device/"):] in self.gone:
                    return 410, json.dumps({"reason": "Unregistered",
                                            "timestamp": 1}).encode()
                return 200, b""
            except Exception as e:
                self.errors.append(repr(e))
                return 400, json.dumps({"reason": "BadRequest"}).encode()

    def stop(self):
        self.running = False
        self.sock.close()
        for c in self.conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class SmtpServer:
    """aiosmtpd with AUTH against one user.  tls (a server SSLContext):
    STARTTLS offered and required before anything else, AUTH only over
    TLS; with smtps=True, TLS from the first byte instead."""

    def __init__(self, user="tocsin", password="s3cret", tls=None,
                 smtps=False):
        import logging
        import warnings
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult, LoginPassword
        # AUTH without TLS is what this loopback test wants; quiet the
        # library's warnings about it.
        warnings.filterwarnings("ignore", module="aiosmtpd")
        warnings.filterwarnings("ignore", message=".*AUTH while not")
        # A client refusing the certificate is what some tests want: keep
        # aiosmtpd's tracebacks of it out of the test output.
        logging.getLogger("mail.log").setLevel(
            logging.CRITICAL if tls else logging.ERROR)
        outer = self
        self.messages = []  # (mail_from, rcpt_tos, content bytes, login)
        self.tls_used = []  # per message: whether it came over TLS
        self.logins = []    # (login, accepted) of every AUTH
        self.refuse = set()  # recipients answered 550
        self.lock = threading.Lock()

        def authenticator(server, session, envelope, mechanism, data):
            ok = isinstance(data, LoginPassword) and \
                data.login.decode() == user and \
                data.password.decode() == password
            with outer.lock:
                outer.logins.append((data.login, ok))
            return AuthResult(success=ok, auth_data=data.login)

        class Handler:
            async def handle_RCPT(self, server, session, envelope, address,
                                  rcpt_options):
                if address in outer.refuse:
                    return "550 5.1.1 no such user"
                envelope.rcpt_tos.append(address)
                return "250 OK"

            async def handle_DATA(self, server, session, envelope):
                with outer.lock:
                    outer.messages.append((envelope.mail_from,
                                           list(envelope.rcpt_tos),
                                           envelope.original_content,
                                           session.auth_data))
                    outer.tls_used.append(server.transport.get_extra_info(
                        "ssl_object") is not None)
                return "250 OK queued"

        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        self.port = s.getsockname()[1]
        s.close()
        if tls and smtps:
            kw = dict(ssl_context=tls, auth_require_tls=False)
        elif tls:
            kw = dict(tls_context=tls, require_starttls=True,
                      auth_require_tls=True)
        else:
            kw = dict(auth_require_tls=False)
        self.ctl = Controller(Handler(), hostname="127.0.0.1", port=self.port,
                              authenticator=authenticator,
                              auth_required=True, **kw)
        self.ctl.start()
        self.url = "%s://127.0.0.1:%d" % ("smtps" if smtps else "smtp",
                                          self.port)

    def stop(self):
        self.ctl.stop()
