"""Shared fixtures for tocsin's integration tests.

Everything is real and local: a redis-server on a unix socket in a
temporary directory, HTTP receivers on 127.0.0.1, the tocsind binary from
the build directory.  Nothing is mocked.  Each test case gets its own
directory, servers and daemon, and stops them even when it fails.

A daemon's stderr is kept; a test fails if it holds a sanitizer report.
"""

import hashlib
import hmac
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import redis

SRC = os.environ.get("TOCSIN_SOURCE_DIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("TOCSIN_BUILD_DIR") or os.path.join(SRC, "build")
TOCSIND = os.path.join(BUILD, "tocsind")
TOCSINCTL = os.path.join(BUILD, "tocsinctl")
LEXICONS = os.path.join(SRC, "conf", "lexicons")

SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                   "runtime error:", "ThreadSanitizer")


def wait_for(pred, timeout=30.0, step=0.05, what="condition"):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for %s" % what)
        time.sleep(step)


class RedisServer:
    """A private redis-server on a unix socket; data survives restart()."""

    def __init__(self, workdir):
        self.dir = workdir
        self.sock = os.path.join(workdir, "r.sock")
        self.url = "unix://" + self.sock
        self.proc = None
        self.start()

    def start(self):
        self.proc = subprocess.Popen(
            ["redis-server", "--port", "0", "--unixsocket", self.sock,
             "--unixsocketperm", "700", "--dir", self.dir,
             "--save", "", "--appendonly", "yes", "--appendfsync", "always",
             "--logfile", os.path.join(self.dir, "redis.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(self._ping, 10, what="redis-server")

    def _ping(self):
        c = redis.Redis(unix_socket_path=self.sock)
        try:
            return c.ping()
        except (redis.ConnectionError, FileNotFoundError):
            return False
        finally:
            c.close()

    def client(self):
        return redis.Redis(unix_socket_path=self.sock)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def restart(self, down_seconds=0.0):
        self.stop()
        time.sleep(down_seconds)
        self.start()


class Receiver:
    """A webhook receiver recording every request.

    statuses: a list of HTTP statuses answered in turn (then 200)."""

    def __init__(self, statuses=None, secret=None):
        self.requests = []
        self.lock = threading.Lock()
        self.statuses = list(statuses or [])
        self.secret = secret
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n)
                with outer.lock:
                    status = outer.statuses.pop(0) if outer.statuses else 200
                    outer.requests.append({
                        "path": self.path,
                        "headers": {k.lower(): v for k, v in self.headers.items()},
                        "body": body,
                        "status": status,
                    })
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = "http://127.0.0.1:%d/hook" % self.port
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       daemon=True)
        self.thread.start()

    def accepted(self):
        """Bodies (parsed) of the requests answered 2xx."""
        with self.lock:
            return [(r["headers"], json.loads(r["body"]))
                    for r in self.requests if 200 <= r["status"] < 300]

    def all(self):
        with self.lock:
            return list(self.requests)

    def check_signature(self, req_headers, raw_body):
        sig = req_headers.get("x-tocsin-signature", "")
        parts = dict(p.split("=", 1) for p in sig.split(",") if "=" in p)
        mac = hmac.new(self.secret.encode(),
                       parts.get("t", "").encode() + b"." + raw_body,
                       hashlib.sha256).hexdigest()
        return hmac.compare_digest(mac, parts.get("v1", ""))

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Daemon:
    def __init__(self, workdir, conf_text, name="tocsind"):
        self.dir = workdir
        self.conf = os.path.join(workdir, name + ".conf")
        if not sockets_of(conf_text):
            # A config made by hand: keep its daemon off the defaults
            # under /run/tocsin, which every test would share.
            conf_text += private_sockets(base=workdir)
        with open(self.conf, "w") as f:
            f.write(conf_text)
        self.log = os.path.join(workdir, name + ".log")
        self.sockets = sockets_of(conf_text)
        self.env = {}  # extra environment for the daemon
        self.proc = None
        self.starts = 0
        self.intended = False  # set when the test stops or kills it

    def start(self):
        self.starts += 1
        self.intended = False
        logf = open(self.log, "a")
        env = dict(os.environ)
        env.setdefault("ASAN_OPTIONS", "detect_leaks=1")
        env.update(self.env)
        self.proc = subprocess.Popen([TOCSIND, "-c", self.conf],
                                     stdout=logf, stderr=logf, env=env)
        logf.close()
        return self

    def ctl(self, *args, timeout=60):
        """Run tocsinctl -c <this daemon's config> ARGS; CompletedProcess
        with text output."""
        return subprocess.run([TOCSINCTL, "-c", self.conf] + list(args),
                              capture_output=True, text=True,
                              timeout=timeout)

    def stderr(self):
        with open(self.log, errors="replace") as f:
            return f.read()

    def crashed(self):
        """True when the daemon exited without being asked to."""
        return (self.proc is not None and not self.intended and
                self.proc.poll() is not None)

    def stop(self, sig=signal.SIGTERM, timeout=15):
        self.intended = True
        if not self.proc or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("tocsind did not stop within %ss" % timeout)

    def kill(self):
        self.intended = True
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def sanitizer_report(self):
        text = self.stderr()
        return [m for m in SANITIZER_MARKS if m in text]


def private_sockets(redis_url=None, base=None):
    """publish/control/http sections giving a daemon addresses of its own:
    ipc sockets in a fresh directory (under base, else beside the redis
    socket when there is one, so it goes away with the test) and a free
    loopback port."""
    if base is None and redis_url and redis_url.startswith("unix://"):
        base = os.path.dirname(redis_url[len("unix://"):])
    d = tempfile.mkdtemp(prefix="s", dir=base)
    return ('publish = { listen = "ipc://%s/alerts.sock"; };\n'
            'control = { listen = "ipc://%s/control.sock"; };\n'
            'http = { listen = "127.0.0.1:%d"; };\n') % (d, d, free_port())


def sockets_of(conf_text):
    """The addresses a config gives: {"publish", "control", "http"}."""
    import re
    out = {}
    for sect in ("publish", "control", "http"):
        m = re.search(r'%s\s*=\s*\{\s*listen\s*=\s*"([^"]*)"' % sect,
                      conf_text)
        if m:
            out[sect] = m.group(1)
    return out


def config(redis_url, receivers=(), bucket=60, extra_detection="",
           extra="", sockets=True):
    recv = ",\n".join(
        '{ name = "%s"; type = "webhook"; url = "%s";%s%s }' % (
            r["name"], r["url"],
            ' secret = "%s";' % r["secret"] if r.get("secret") else "",
            r.get("extra", ""))
        for r in receivers)
    return ('redis = { url = "%s"; streams = ["mentions"]; group = "tocsin";'
            ' consumer = "test"; block_ms = 200; checkpoint_ms = 200;'
            ' claim_idle_ms = 2000; };\n'
            'detection = { bucket = %d; %s };\n'
            'receivers = ( %s );\n'
            'sentiment = { lexicons = "%s"; };\n'
            'alerts = { external_url = "http://tocsin.test"; };\n'
            'log = { level = "info"; };\n%s%s') % (
                redis_url, bucket, extra_detection, recv, LEXICONS,
                private_sockets(redis_url) if sockets else "", extra)


def make_crisis_stream(now_ms, seed=7, crisis=True, minutes=120,
                       crisis_start_min=100, crisis_len_min=4):
    """Mentions for three topics over `minutes` minutes ending at now_ms,
    with a 10x negative burst on AirNova (if crisis).  Returns a list of
    dicts in time order (with text and followers)."""
    rnd = random.Random(seed)
    start = now_ms - minutes * 60000
    rates = {"AirNova": 20.0, "Canal Neuf": 6.0, "Orbitel": 2.0}
    out = []
    for m in range(minutes):
        for topic, rate in rates.items():
            r = rate
            burst = crisis and topic == "AirNova" and \
                crisis_start_min <= m < crisis_start_min + crisis_len_min
            if burst:
                r = rate * 10
            n = _poisson(rnd, r)
            for _ in range(n):
                ts = start + m * 60000 + rnd.randrange(60000)
                neg = rnd.random() < (0.7 if burst else 0.12)
                out.append({
                    "topic": topic, "ts": ts,
                    "id": "%s-%d-%d" % (topic[:3], ts, rnd.randrange(10**6)),
                    "text": ("vol annulé, remboursement ??" if neg
                             else "super vol, merci"),
                    "lang": "fr",
                    "author": "@user%d" % rnd.randrange(1000),
                    "followers": int(rnd.paretovariate(1.2) * 100),
                    "sentiment": -0.7 if neg else 0.5,
                })
    out.sort(key=lambda d: d["ts"])
    return out


def _poisson(rnd, lam):
    # Knuth's method is fine for the small rates used here.
    import math
    L, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rnd.random()
        if p <= L:
            return k
        k += 1


def write_stream(r, mentions, key="mentions", flat=False):
    pipe = r.pipeline(transaction=False)
    for i, m in enumerate(mentions):
        if flat:
            pipe.xadd(key, {k: str(v) for k, v in m.items()})
        else:
            pipe.xadd(key, {"json": json.dumps(m)})
        if i % 1000 == 999:
            pipe.execute()
    pipe.execute()


class TocsinCase(unittest.TestCase):
    """A test case with a private directory, redis-server and cleanup."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="tocsin-integ-")
        self.redis = RedisServer(self.dir)
        self.r = self.redis.client()
        self.daemons = []
        self.receivers = []

    def tearDown(self):
        for d in self.daemons:
            d.kill()
        for rc in self.receivers:
            rc.stop()
        self.redis.stop()
        problems = [(d.log, d.sanitizer_report()) for d in self.daemons
                    if d.sanitizer_report()]
        failed = any(self._outcome.result.errors) if hasattr(
            self._outcome, "result") else False
        if not problems and not failed:
            shutil.rmtree(self.dir, ignore_errors=True)
        if problems:
            for log, marks in problems:
                print(open(log, errors="replace").read()[-4000:])
            self.fail("sanitizer report in daemon stderr: %r" % problems)

    def receiver(self, **kw):
        rc = Receiver(**kw)
        self.receivers.append(rc)
        return rc

    def daemon(self, conf_text, name="tocsind"):
        d = Daemon(self.dir, conf_text, name)
        self.daemons.append(d)
        return d

    def wait_read(self, fraction, total, stream="mentions"):
        """Wait (polling fast) until the first group of stream has read
        fraction * total entries: to stop a daemon mid-stream."""
        def read_enough():
            for g in self.r.xinfo_groups(stream):
                return g["entries-read"] and \
                    g["entries-read"] >= fraction * total
            return False
        wait_for(read_enough, 30, step=0.002, what="progress")

    def group_done(self, stream="mentions", group="tocsin"):
        """True when the group has read everything and acked it."""
        for d in self.daemons:
            if d.crashed():
                raise AssertionError("tocsind exited with %s:\n%s" % (
                    d.proc.returncode, d.stderr()[-3000:]))
        for g in self.r.xinfo_groups(stream):
            if g["name"] in (group, group.encode()):
                return g["pending"] == 0 and g.get("lag", 1) == 0
        return False


class Subscriber:
    """A real nanomsg SUB socket (libnanomsg through ctypes) connected to a
    daemon's publish address, subscribed to prefix."""

    AF_SP, NN_SUB, NN_SUB_SUBSCRIBE = 1, 33, 1
    NN_SOL_SOCKET, NN_RCVTIMEO = 0, 5

    def __init__(self, address, prefix=b""):
        import ctypes
        import ctypes.util
        self.ct = ctypes
        self.nn = ctypes.CDLL(ctypes.util.find_library("nanomsg") or
                              "libnanomsg.so.5", use_errno=True)
        self.nn.nn_recv.restype = ctypes.c_int
        self.s = self.nn.nn_socket(self.AF_SP, self.NN_SUB)
        if self.s < 0:
            raise OSError("nn_socket failed")
        self.nn.nn_setsockopt(self.s, self.NN_SUB, self.NN_SUB_SUBSCRIBE,
                              ctypes.c_char_p(prefix),
                              ctypes.c_size_t(len(prefix)))
        ms = ctypes.c_int(200)
        self.nn.nn_setsockopt(self.s, self.NN_SOL_SOCKET, self.NN_RCVTIMEO,
                              ctypes.byref(ms), ctypes.c_size_t(4))
        if self.nn.nn_connect(self.s, address.encode()) < 0:
            raise OSError("nn_connect %s failed" % address)

    def recv(self, timeout=30.0):
        """One message (bytes), or None after timeout seconds."""
        buf = self.ct.create_string_buffer(1 << 20)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            n = self.nn.nn_recv(self.s, buf, self.ct.c_size_t(len(buf)), 0)
            if n >= 0:
                return buf.raw[:n]
        return None

    def close(self):
        self.nn.nn_close(self.s)
