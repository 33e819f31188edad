/*
 * tocsinctl_main.c: the operator's command line for a running tocsind.
 *
 *   tocsinctl [-c FILE | -s ADDRESS] [--json] [--timeout SECONDS] COMMAND
 *     status | topics [--top N] | alerts | test-receiver NAME | reload |
 *     watch [TOPIC] [--count N] |
 *     silence add MATCHER... --duration D --comment TEXT [--author NAME] |
 *     silence query | silence expire ID | routes test LABEL=VALUE... |
 *     oncall | ack ID [--by NAME]
 *
 * Talks to the daemon's REP control socket (control.h) with one JSON
 * request per command, and follows the PUB socket for `watch`.  Tables for
 * people, --json for scripts.  Exit status: 0 done, 1 the daemon answered
 * with a failure, 2 bad usage or configuration, 3 the daemon is not
 * running or does not answer.  Single-threaded; owns its two sockets.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <libconfig.h>
#include <limits.h>
#include <nanomsg/nn.h>
#include <nanomsg/pubsub.h>
#include <nanomsg/reqrep.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tocsin/control.h"

#define DEFAULT_CONFIG  "/etc/tocsind/tocsind.conf"
#define DEFAULT_CONTROL "ipc:///run/tocsin/control.sock"
#define DEFAULT_PUBLISH "ipc:///run/tocsin/alerts.sock"

enum { EXIT_OK = 0, EXIT_FAILED = 1, EXIT_USAGE = 2, EXIT_NOT_RUNNING = 3 };

static int json_out;
static int timeout_s = 10;
static volatile sig_atomic_t interrupted;

static void
usage(FILE *f)
{
    fprintf(f,
            "usage: tocsinctl [-c FILE | -s ADDRESS] [--json] [--timeout S] "
            "COMMAND\n"
            "commands:\n"
            "  status                 uptime, ingest, streams, outbox, "
            "receivers\n"
            "  topics [--top N]       topics, most anomalous first "
            "(default 20)\n"
            "  alerts                 active alerts\n"
            "  test-receiver NAME     send a test notification through NAME\n"
            "  reload                 reload the daemon's configuration\n"
            "  watch [TOPIC] [--count N]\n"
            "                         print alert events as they are "
            "published\n"
            "  silence add MATCHER... --duration D --comment TEXT "
            "[--author NAME]\n"
            "                         hold the matching alerts' "
            "notifications (D: 90s, 30m, 2h, 1d)\n"
            "  silence query          silences, active, pending and "
            "expired\n"
            "  silence expire ID      end a silence now\n"
            "  routes test LABEL=VALUE...\n"
            "                         which receivers an alert would "
            "reach\n"
            "  oncall                 who is on call now and next\n"
            "  ack ID [--by NAME]     acknowledge alert ID: stops its "
            "escalation\n"
            "-c FILE: find the sockets in tocsind's configuration (default "
            "%s)\n"
            "-s ADDRESS: the control socket (default %s)\n"
            "exit status: 0 ok, 1 failed, 2 usage, 3 tocsind not running\n",
            DEFAULT_CONFIG, DEFAULT_CONTROL);
}

/* ---- addresses ---- */

struct addrs {
    char control[512];
    char publish[512]; /* "" until known */
};

/* Find `SECTION = { ... listen = "ADDR"` in text by hand, for a file that
 * libconfig cannot parse (so that `tocsinctl reload` can still reach the
 * daemon and report the file's errors).  Writes out only when found. */
static void
scan_listen(const char *text, const char *section, char *out, size_t n)
{
    size_t sl = strlen(section);
    for (const char *p = strstr(text, section); p; p = strstr(p + 1, section)) {
        if (p > text && (isalnum((unsigned char)p[-1]) || p[-1] == '_'))
            continue;
        const char *q = p + sl;
        while (isspace((unsigned char)*q))
            q++;
        if (*q != '=' && *q != ':')
            continue;
        q++;
        while (isspace((unsigned char)*q))
            q++;
        if (*q != '{')
            continue;
        const char *end = strchr(q, '}');
        const char *l = strstr(q, "listen");
        if (!l || (end && l > end))
            continue;
        const char *a = strchr(l, '"');
        const char *b = a ? strchr(a + 1, '"') : NULL;
        if (!b || (end && b > end) || (size_t)(b - a - 1) >= n)
            continue;
        snprintf(out, n, "%.*s", (int)(b - a - 1), a + 1);
        return;
    }
}

static int
addrs_by_scanning(const char *path, struct addrs *a)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char *text = calloc(1, 1 << 20);
    size_t len = text ? fread(text, 1, (1 << 20) - 1, f) : 0;
    fclose(f);
    if (!text)
        return -1;
    text[len] = '\0';
    char ctl[512] = "";
    scan_listen(text, "control", ctl, sizeof ctl);
    scan_listen(text, "publish", a->publish, sizeof a->publish);
    free(text);
    if (ctl[0])
        snprintf(a->control, sizeof a->control, "%s", ctl);
    return 0;
}

/* Read control.listen and publish.listen from a tocsind configuration.
 * Only those two keys: the rest (secrets included) is the daemon's. */
static int
addrs_from_config(const char *path, struct addrs *a, int must_exist)
{
    if (access(path, F_OK) != 0 && !must_exist)
        return 0;
    config_t lc;
    config_init(&lc);
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash) {
        *slash = '\0';
        config_set_include_dir(&lc, dir[0] ? dir : "/");
    }
    if (config_read_file(&lc, path) != CONFIG_TRUE) {
        if (config_error_type(&lc) == CONFIG_ERR_FILE_IO) {
            fprintf(stderr, "tocsinctl: cannot read %s: %s\n", path,
                    strerror(errno));
            config_destroy(&lc);
            return -1;
        }
        /* A file being edited: find the sockets anyway. */
        config_destroy(&lc);
        return addrs_by_scanning(path, a);
    }
    const char *v;
    if (config_lookup_string(&lc, "control.listen", &v) == CONFIG_TRUE)
        snprintf(a->control, sizeof a->control, "%s", v);
    if (config_lookup_string(&lc, "publish.listen", &v) == CONFIG_TRUE)
        snprintf(a->publish, sizeof a->publish, "%s", v);
    else
        snprintf(a->publish, sizeof a->publish, "%s", DEFAULT_PUBLISH);
    config_destroy(&lc);
    return 0;
}

/* A listening address as one to connect to: "*" and 0.0.0.0 become
 * loopback. */
static void
connectable(const char *in, char *out, size_t n)
{
    const char *hp = NULL;
    if (strncmp(in, "tcp://", 6) == 0)
        hp = in + 6;
    else if (strncmp(in, "ws://", 5) == 0)
        hp = in + 5;
    if (hp && (strncmp(hp, "*:", 2) == 0 || strncmp(hp, "0.0.0.0:", 8) == 0))
        snprintf(out, n, "%.*s127.0.0.1%s", (int)(hp - in), in,
                 strchr(hp, ':'));
    else if (hp && strncmp(hp, "[::]:", 5) == 0)
        snprintf(out, n, "%.*s[::1]%s", (int)(hp - in), in, hp + 4);
    else
        snprintf(out, n, "%s", in);
}

/* For an ipc address, say at once whether anyone listens there. */
static int
ipc_not_running(const char *addr)
{
    if (strncmp(addr, "ipc://", 6) != 0)
        return 0;
    const char *path = addr + 6;
    int e = tocsin_control_ipc_probe(path);
    if (e == ENOENT || e == ECONNREFUSED) {
        fprintf(stderr,
                "tocsinctl: tocsind is not running (nothing listens on "
                "%s)\n",
                addr);
        return 1;
    }
    if (e == EACCES) {
        fprintf(stderr,
                "tocsinctl: %s: permission denied (run as tocsind's "
                "user or root)\n",
                path);
        return 1;
    }
    return 0;
}

/* ---- request / reply ---- */

/* Send req, wait for the reply (parsed into *out).  Returns an exit code. */
static int
request(const char *addr, json_t *req, int wait_s, json_t **out)
{
    char conn[512];
    connectable(addr, conn, sizeof conn);
    if (ipc_not_running(conn))
        return EXIT_NOT_RUNNING;
    int s = nn_socket(AF_SP, NN_REQ);
    if (s < 0) {
        fprintf(stderr, "tocsinctl: nn_socket: %s\n", nn_strerror(nn_errno()));
        return EXIT_FAILED;
    }
    int ms = wait_s * 1000, linger = 0;
    nn_setsockopt(s, NN_SOL_SOCKET, NN_SNDTIMEO, &ms, sizeof ms);
    nn_setsockopt(s, NN_SOL_SOCKET, NN_RCVTIMEO, &ms, sizeof ms);
    nn_setsockopt(s, NN_SOL_SOCKET, NN_LINGER, &linger, sizeof linger);
    /* One request, no resend: a reload must not run twice. */
    int resend = INT_MAX;
    nn_setsockopt(s, NN_REQ, NN_REQ_RESEND_IVL, &resend, sizeof resend);
    int rc = EXIT_NOT_RUNNING;
    char *text = json_dumps(req, JSON_COMPACT);
    if (nn_connect(s, conn) < 0) {
        fprintf(stderr, "tocsinctl: %s: %s\n", conn, nn_strerror(nn_errno()));
        rc = EXIT_USAGE;
        goto out;
    }
    if (!text || nn_send(s, text, strlen(text), 0) < 0) {
        fprintf(stderr,
                "tocsinctl: cannot reach tocsind at %s: %s (is it "
                "running?)\n",
                conn, nn_strerror(nn_errno()));
        goto out;
    }
    char *buf = NULL;
    int n = nn_recv(s, &buf, NN_MSG, 0);
    if (n < 0) {
        int e = nn_errno();
        fprintf(stderr, "tocsinctl: no answer from tocsind at %s %s%s\n", conn,
                e == ETIMEDOUT ? "within the timeout" : nn_strerror(e),
                e == ETIMEDOUT ? " (is it running?)" : "");
        goto out;
    }
    json_error_t jerr;
    *out = json_loadb(buf, (size_t)n, 0, &jerr);
    nn_freemsg(buf);
    if (!*out) {
        fprintf(stderr, "tocsinctl: unreadable answer: %s\n", jerr.text);
        rc = EXIT_FAILED;
        goto out;
    }
    rc = EXIT_OK;
out:
    free(text);
    nn_close(s);
    return rc;
}

/* ---- formatting ---- */

static const char *
str(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

static double
num(json_t *o, const char *k)
{
    return json_number_value(json_object_get(o, k));
}

static long long
integer(json_t *o, const char *k)
{
    return (long long)json_integer_value(json_object_get(o, k));
}

static void
duration(char *buf, size_t n, double s)
{
    long long t = (long long)s;
    if (t < 60)
        snprintf(buf, n, "%llds", t);
    else if (t < 3600)
        snprintf(buf, n, "%lldm%02llds", t / 60, t % 60);
    else if (t < 86400)
        snprintf(buf, n, "%lldh%02lldm", t / 3600, t % 3600 / 60);
    else
        snprintf(buf, n, "%lldd%02lldh", t / 86400, t % 86400 / 3600);
}

static int64_t
now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
ago(char *buf, size_t n, long long ms)
{
    if (ms <= 0) {
        snprintf(buf, n, "never");
        return;
    }
    char d[24];
    duration(d, sizeof d, (double)(now_ms() - ms) / 1000.0);
    snprintf(buf, n, "%.20s ago", d);
}

static void
print_status(json_t *r)
{
    char up[32];
    duration(up, sizeof up, num(r, "uptime_seconds"));
    printf("tocsind %s, pid %lld, up %s, %s\n", str(r, "version"),
           integer(r, "pid"), up,
           json_is_true(json_object_get(r, "ready")) ? "ready" : "NOT READY");
    printf("config    %s\n", str(r, "config"));
    printf("control   %s\npublish   %s\nhttp      %s\n", str(r, "control"),
           str(r, "publish"), str(r, "http"));
    json_t *in = json_object_get(r, "ingest");
    printf("ingest    %s, %lld entries read (%.1f/s), lag %.1f s, %lld "
           "topics, %lld alert(s) firing, %lld dead-lettered, %lld late\n",
           json_is_true(json_object_get(in, "connected"))
               ? (json_is_true(json_object_get(in, "caught_up"))
                      ? "live"
                      : "catching up")
               : "redis unreachable",
           integer(in, "entries"), num(in, "rate_per_second"),
           num(in, "lag_seconds"), integer(in, "topics"), integer(in, "firing"),
           integer(in, "dead"), integer(in, "late"));
    printf("outbox    %lld waiting\n\n", integer(r, "outbox_depth"));
    printf("%-24s %10s %8s %8s %12s\n", "STREAM", "LENGTH", "PENDING", "LAG",
           "DEAD LETTERS");
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(r, "streams"), i, s)
    {
        printf("%-24s %10lld %8lld %8lld %12lld\n", str(s, "stream"),
               integer(s, "length"), integer(s, "pending"), integer(s, "lag"),
               integer(s, "dead_letters"));
    }
    printf("\n%-16s %6s %6s %5s %-14s %-14s %s\n", "RECEIVER", "SENT", "FAILED",
           "DEAD", "LAST SUCCESS", "LAST FAILURE", "LAST ERROR");
    json_array_foreach(json_object_get(r, "receivers"), i, s)
    {
        char ok[32], ko[32];
        ago(ok, sizeof ok, integer(s, "last_success_ms"));
        ago(ko, sizeof ko, integer(s, "last_failure_ms"));
        printf("%-16s %6lld %6lld %5lld %-14s %-14s %s\n", str(s, "name"),
               integer(s, "sent"), integer(s, "failed"), integer(s, "dead"), ok,
               ko, str(s, "last_error"));
    }
}

static void
pct(char *buf, size_t n, json_t *v)
{
    if (json_is_number(v))
        snprintf(buf, n, "%.0f%%", json_number_value(v) * 100.0);
    else
        snprintf(buf, n, "-");
}

static void
print_topics(json_t *r)
{
    printf("%-24s %9s %9s %6s %6s %7s %7s %s\n", "TOPIC", "RATE/MIN",
           "BASE/MIN", "NEG", "USUAL", "VOLUME", "NEGATIV", "FIRING");
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(r, "topics"), i, t)
    {
        char neg[16], usual[16], firing[32] = "";
        pct(neg, sizeof neg, json_object_get(t, "negative_share"));
        pct(usual, sizeof usual, json_object_get(t, "negative_baseline"));
        if (json_is_true(json_object_get(t, "volume_firing")))
            strcat(firing, "volume ");
        if (json_is_true(json_object_get(t, "negativity_firing")))
            strcat(firing, "negativity");
        printf("%-24s %9.1f %9.1f %6s %6s %7.2f %7.2f %s\n", str(t, "topic"),
               num(t, "rate_per_min"), num(t, "baseline_per_min"), neg, usual,
               num(t, "volume_score"), num(t, "negativity_score"), firing);
    }
    long long total = integer(r, "total");
    if ((long long)json_array_size(json_object_get(r, "topics")) < total)
        printf("(%lld topics in all)\n", total);
}

/* The on-call side of `alerts`: acknowledgement and escalation. */
static void
print_oncall_alerts(json_t *arr)
{
    if (json_array_size(arr) == 0)
        return;
    printf("\n%-32s %-24s %-9s %-16s %-22s %s\n", "ID", "TOPIC", "STATUS",
           "ACKNOWLEDGED", "ESCALATION", "POLICY");
    size_t i;
    json_t *a;
    json_array_foreach(arr, i, a)
    {
        json_t *lab = json_object_get(a, "labels");
        json_t *esc = json_object_get(a, "escalation");
        char step[64] = "-";
        if (json_is_string(json_object_get(a, "policy")))
            snprintf(step, sizeof step, "%s step %lld round %lld",
                     str(esc, "status"), integer(esc, "step") + 1,
                     integer(esc, "round"));
        printf("%-32s %-24s %-9s %-16s %-22s %s\n", str(a, "fingerprint"),
               str(lab, "topic"), str(a, "status"),
               str(a, "acked_by")[0] ? str(a, "acked_by") : "-", step,
               str(a, "policy")[0] ? str(a, "policy") : "-");
    }
}

static void
print_alerts(json_t *r)
{
    json_t *arr = json_object_get(r, "alerts");
    if (json_array_size(arr) == 0) {
        printf("no active alerts\n");
        print_oncall_alerts(json_object_get(r, "oncall"));
        return;
    }
    printf("%-24s %-20s %-9s %-25s %s\n", "TOPIC", "ALERT", "SEVERITY", "SINCE",
           "SUMMARY");
    size_t i;
    json_t *a;
    json_array_foreach(arr, i, a)
    {
        printf("%-24s %-20s %-9s %-25s %s\n", str(a, "topic"),
               str(a, "alertname"),
               str(a, "severity")[0] ? str(a, "severity") : "-",
               str(a, "startsAt")[0] ? str(a, "startsAt") : "-",
               str(a, "summary"));
    }
    print_oncall_alerts(json_object_get(r, "oncall"));
}

static void
print_silences(json_t *r)
{
    json_t *arr = json_object_get(r, "silences");
    if (json_array_size(arr) == 0) {
        printf("no silences\n");
        return;
    }
    printf("%-18s %-8s %-20s %-14s %-40s %s\n", "ID", "STATE", "ENDS", "AUTHOR",
           "MATCHERS", "COMMENT");
    size_t i;
    json_t *sl;
    json_array_foreach(arr, i, sl)
    {
        char ends[32] = "-", m[512] = "";
        time_t t = (time_t)integer(sl, "ends");
        struct tm tm;
        if (gmtime_r(&t, &tm))
            strftime(ends, sizeof ends, "%Y-%m-%dT%H:%M:%SZ", &tm);
        size_t k, o = 0;
        json_t *x;
        json_array_foreach(json_object_get(sl, "matchers"), k, x)
        {
            int w = snprintf(m + o, sizeof m - o, "%s%s", k ? "," : "",
                             json_string_value(x) ? json_string_value(x) : "");
            if (w < 0 || (size_t)w >= sizeof m - o)
                break;
            o += (size_t)w;
        }
        printf("%-18s %-8s %-20s %-14s %-40s %s\n", str(sl, "id"),
               str(sl, "state"), ends, str(sl, "created_by"), m,
               str(sl, "comment"));
    }
}

/* "90", "90s", "30m", "2h", "1d", "1h30m": seconds, or -1. */
static long long
parse_duration(const char *s)
{
    long long total = 0;
    if (!*s)
        return -1;
    while (*s) {
        char *end;
        errno = 0;
        long long v = strtoll(s, &end, 10);
        if (end == s || errno || v < 0)
            return -1;
        long long unit = 1;
        switch (*end) {
        case '\0':
        case 's':
            break;
        case 'm':
            unit = 60;
            break;
        case 'h':
            unit = 3600;
            break;
        case 'd':
            unit = 86400;
            break;
        default:
            return -1;
        }
        if (v > 10LL * 365 * 86400 / unit)
            return -1;
        total += v * unit;
        s = *end ? end + 1 : end;
    }
    return total > 0 ? total : -1;
}

/* ---- watch ---- */

static void
on_int(int sig)
{
    (void)sig;
    interrupted = 1;
}

static int
watch(const char *publish, const char *topic, long count)
{
    char conn[512];
    connectable(publish, conn, sizeof conn);
    int s = nn_socket(AF_SP, NN_SUB);
    if (s < 0 || nn_connect(s, conn) < 0) {
        fprintf(stderr, "tocsinctl: %s: %s\n", conn, nn_strerror(nn_errno()));
        if (s >= 0)
            nn_close(s);
        return EXIT_FAILED;
    }
    char prefix[1024] = "";
    if (topic)
        snprintf(prefix, sizeof prefix, "%s%c", topic, TOCSIN_PUBLISH_SEP);
    nn_setsockopt(s, NN_SUB, NN_SUB_SUBSCRIBE, prefix, strlen(prefix));
    int ms = 500;
    nn_setsockopt(s, NN_SOL_SOCKET, NN_RCVTIMEO, &ms, sizeof ms);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_int;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    fprintf(stderr, "tocsinctl: watching alert events on %s%s%s\n", conn,
            topic ? " for topic " : "", topic ? topic : "");
    if (!json_out)
        printf("%-24s %-8s %-20s %-24s %-9s %s\n", "TIME", "STATUS", "ALERT",
               "TOPIC", "SEVERITY", "SUMMARY");
    fflush(stdout);
    long seen = 0;
    while (!interrupted && (count <= 0 || seen < count)) {
        char *buf = NULL;
        int n = nn_recv(s, &buf, NN_MSG, 0);
        if (n < 0) {
            if (nn_errno() == ETIMEDOUT || nn_errno() == EINTR)
                continue;
            fprintf(stderr, "tocsinctl: %s\n", nn_strerror(nn_errno()));
            break;
        }
        char *sep = memchr(buf, TOCSIN_PUBLISH_SEP, (size_t)n);
        if (!sep) {
            nn_freemsg(buf);
            continue;
        }
        const char *body = sep + 1;
        size_t blen = (size_t)n - (size_t)(sep + 1 - buf);
        seen++;
        if (json_out) {
            printf("%.*s\n", (int)blen, body);
        } else {
            json_t *ev = json_loadb(body, blen, 0, NULL);
            json_t *al = json_array_get(json_object_get(ev, "alerts"), 0);
            json_t *lab = json_object_get(al, "labels");
            json_t *ann = json_object_get(al, "annotations");
            printf("%-24s %-8s %-20s %-24s %-9s %s\n",
                   str(al, str(ev, "status")[0] == 'r' ? "endsAt" : "startsAt"),
                   str(ev, "status"), str(lab, "alertname"), str(lab, "topic"),
                   str(lab, "severity"), str(ann, "summary"));
            json_decref(ev);
        }
        fflush(stdout);
        nn_freemsg(buf);
    }
    nn_close(s);
    return EXIT_OK;
}

/* ---- main ---- */

int
main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"socket", required_argument, NULL, 's'},
        {"json", no_argument, NULL, 'j'},
        {"timeout", required_argument, NULL, 't'},
        {"top", required_argument, NULL, 'n'},
        {"count", required_argument, NULL, 'N'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    const char *config = NULL, *sock = NULL;
    long top = 0, count = 0;
    int c;
    char *end;
    /* "+": options after the command are the command's own (--top). */
    while ((c = getopt_long(argc, argv, "+c:s:jt:hV", longopts, NULL)) != -1) {
        switch (c) {
        case 'c':
            config = optarg;
            break;
        case 's':
            sock = optarg;
            break;
        case 'j':
            json_out = 1;
            break;
        case 't':
            timeout_s = (int)strtol(optarg, &end, 10);
            if (*end || timeout_s < 1 || timeout_s > 3600) {
                fprintf(stderr, "tocsinctl: --timeout: expected 1..3600\n");
                return EXIT_USAGE;
            }
            break;
        case 'h':
            usage(stdout);
            return EXIT_OK;
        case 'V':
            printf("tocsinctl %s\n", TOCSIN_VERSION);
            return EXIT_OK;
        default:
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[optind];
    const char *arg = NULL;
    /* The command's own arguments and options. */
    const char *pos[64];
    size_t npos = 0;
    const char *duration_s = NULL, *comment = NULL, *author = NULL, *by = NULL;
    optind++;
    while (optind < argc) {
        const char *a = argv[optind++];
        if ((strcmp(a, "--top") == 0 || strcmp(a, "--count") == 0) &&
            optind < argc) {
            long v = strtol(argv[optind++], &end, 10);
            if (*end || v < 1) {
                fprintf(stderr,
                        "tocsinctl: %s: expected a positive "
                        "integer\n",
                        a);
                return EXIT_USAGE;
            }
            if (a[2] == 't')
                top = v;
            else
                count = v;
        } else if (strcmp(a, "--duration") == 0 && optind < argc) {
            duration_s = argv[optind++];
        } else if (strcmp(a, "--comment") == 0 && optind < argc) {
            comment = argv[optind++];
        } else if (strcmp(a, "--author") == 0 && optind < argc) {
            author = argv[optind++];
        } else if (strcmp(a, "--by") == 0 && optind < argc) {
            by = argv[optind++];
        } else if (strcmp(a, "--json") == 0 || strcmp(a, "-j") == 0) {
            json_out = 1;
        } else if (a[0] != '-' && npos < sizeof pos / sizeof *pos) {
            pos[npos++] = a;
        } else {
            fprintf(stderr, "tocsinctl: %s: unexpected argument \"%s\"\n", cmd,
                    a);
            return EXIT_USAGE;
        }
    }
    /* Two-word commands: "silence add", "routes test". */
    char full[64];
    snprintf(full, sizeof full, "%s", cmd);
    if ((strcmp(cmd, "silence") == 0 || strcmp(cmd, "routes") == 0) &&
        npos > 0) {
        snprintf(full, sizeof full, "%s %s", cmd, pos[0]);
        memmove(pos, pos + 1, --npos * sizeof *pos);
    }
    int multi =
        strcmp(full, "silence add") == 0 || strcmp(full, "routes test") == 0;
    if (!multi && npos > 1) {
        fprintf(stderr, "tocsinctl: %s: unexpected argument \"%s\"\n", full,
                pos[1]);
        return EXIT_USAGE;
    }
    if (!multi && npos == 1)
        arg = pos[0];
    int silence_add = strcmp(full, "silence add") == 0;
    if ((duration_s || comment || author) && !silence_add) {
        fprintf(stderr, "tocsinctl: %s: unexpected option\n", full);
        return EXIT_USAGE;
    }
    if (by && strcmp(full, "ack") != 0) {
        fprintf(stderr, "tocsinctl: %s: unexpected option\n", full);
        return EXIT_USAGE;
    }
    cmd = full;

    struct addrs ad;
    snprintf(ad.control, sizeof ad.control, "%s", DEFAULT_CONTROL);
    ad.publish[0] = '\0';
    if (config && sock) {
        fprintf(stderr, "tocsinctl: -c and -s exclude each other\n");
        return EXIT_USAGE;
    }
    if (sock)
        snprintf(ad.control, sizeof ad.control, "%s", sock);
    else if (addrs_from_config(config ? config : DEFAULT_CONFIG, &ad,
                               config != NULL) != 0)
        return EXIT_USAGE;

    json_t *req = NULL;
    int wait_s = timeout_s;
    int takes_arg = 0;
    if (strcmp(cmd, "status") == 0 || strcmp(cmd, "watch") == 0) {
        req = json_pack("{s:s}", "cmd", "status");
        takes_arg = cmd[0] == 'w';
    } else if (strcmp(cmd, "topics") == 0) {
        req = json_pack("{s:s,s:I}", "cmd", "topics", "top",
                        (json_int_t)(top ? top : 20));
    } else if (strcmp(cmd, "alerts") == 0) {
        req = json_pack("{s:s}", "cmd", "alerts");
    } else if (strcmp(cmd, "test-receiver") == 0) {
        if (!arg) {
            fprintf(stderr, "tocsinctl: test-receiver: which receiver?\n");
            return EXIT_USAGE;
        }
        req = json_pack("{s:s,s:s}", "cmd", "test-receiver", "name", arg);
        takes_arg = 1;
        wait_s = timeout_s > 120 ? timeout_s : 120;
    } else if (strcmp(cmd, "reload") == 0) {
        req = json_pack("{s:s}", "cmd", "reload");
        wait_s = timeout_s > 120 ? timeout_s : 120;
    } else if (silence_add) {
        long long secs = duration_s ? parse_duration(duration_s) : -1;
        if (npos == 0 || secs < 0 || !comment || !comment[0]) {
            fprintf(stderr, "tocsinctl: silence add: %s\n",
                    npos == 0     ? "at least one matcher, e.g. "
                                    "'topic=\"AirNova\"'"
                    : !duration_s ? "--duration is needed, e.g. 2h"
                    : secs < 0    ? "--duration: expected e.g. 90s, 30m, "
                                    "2h, 1d"
                                  : "--comment is needed");
            return EXIT_USAGE;
        }
        json_t *m = json_array();
        for (size_t i = 0; m && i < npos; i++)
            json_array_append_new(m, json_string(pos[i]));
        if (!author)
            author = getenv("USER");
        req = json_pack("{s:s,s:o*,s:I,s:s,s:s}", "cmd", "silence-add",
                        "matchers", m, "duration", (json_int_t)secs, "comment",
                        comment, "author",
                        author && author[0] ? author : "tocsinctl");
    } else if (strcmp(cmd, "silence query") == 0) {
        req = json_pack("{s:s}", "cmd", "silence-query");
    } else if (strcmp(cmd, "silence expire") == 0) {
        if (!arg) {
            fprintf(stderr, "tocsinctl: silence expire: which silence?\n");
            return EXIT_USAGE;
        }
        req = json_pack("{s:s,s:s}", "cmd", "silence-expire", "id", arg);
        takes_arg = 1;
    } else if (strcmp(cmd, "routes test") == 0) {
        json_t *labels = json_object();
        for (size_t i = 0; labels && i < npos; i++) {
            const char *eq = strchr(pos[i], '=');
            if (!eq || eq == pos[i]) {
                fprintf(stderr,
                        "tocsinctl: routes test: \"%s\": expected "
                        "LABEL=VALUE\n",
                        pos[i]);
                json_decref(labels);
                return EXIT_USAGE;
            }
            char name[128];
            snprintf(name, sizeof name, "%.*s", (int)(eq - pos[i]), pos[i]);
            json_object_set_new(labels, name, json_string(eq + 1));
        }
        if (npos == 0) {
            fprintf(stderr, "tocsinctl: routes test: labels are needed, "
                            "e.g. topic=AirNova kind=volume\n");
            json_decref(labels);
            return EXIT_USAGE;
        }
        req = json_pack("{s:s,s:o*}", "cmd", "routes-test", "labels", labels);
    } else if (strcmp(cmd, "oncall") == 0) {
        req = json_pack("{s:s}", "cmd", "oncall");
    } else if (strcmp(cmd, "ack") == 0) {
        if (!arg) {
            fprintf(stderr, "tocsinctl: ack: which alert?\n");
            return EXIT_USAGE;
        }
        if (!by)
            by = getenv("USER");
        req = json_pack("{s:s,s:s,s:s}", "cmd", "ack", "id", arg, "by",
                        by && by[0] ? by : "tocsinctl");
        takes_arg = 1;
    } else {
        fprintf(stderr, "tocsinctl: unknown command \"%s\"\n", cmd);
        usage(stderr);
        return EXIT_USAGE;
    }
    if (arg && !takes_arg) {
        fprintf(stderr, "tocsinctl: %s: unexpected argument \"%s\"\n", cmd,
                arg);
        json_decref(req);
        return EXIT_USAGE;
    }
    if ((top && strcmp(cmd, "topics")) || (count && strcmp(cmd, "watch"))) {
        fprintf(stderr, "tocsinctl: %s: unexpected option\n", cmd);
        json_decref(req);
        return EXIT_USAGE;
    }

    json_t *rep = NULL;
    int rc = request(ad.control, req, wait_s, &rep);
    json_decref(req);
    if (rc != EXIT_OK)
        return rc;
    if (!json_is_true(json_object_get(rep, "ok"))) {
        if (json_out) {
            char *s = json_dumps(rep, JSON_COMPACT);
            printf("%s\n", s ? s : "");
            free(s);
        }
        const char *e = str(rep, "error");
        fprintf(stderr, "tocsinctl: %s: %s%s", cmd, e,
                e[0] && e[strlen(e) - 1] == '\n' ? "" : "\n");
        json_decref(rep);
        return EXIT_FAILED;
    }
    if (strcmp(cmd, "watch") == 0) {
        if (!ad.publish[0])
            snprintf(ad.publish, sizeof ad.publish, "%s", str(rep, "publish"));
        json_decref(rep);
        return watch(ad.publish, arg, count);
    }
    if (json_out) {
        char *s = json_dumps(rep, JSON_COMPACT);
        printf("%s\n", s ? s : "");
        free(s);
    } else if (strcmp(cmd, "status") == 0) {
        print_status(rep);
    } else if (strcmp(cmd, "topics") == 0) {
        print_topics(rep);
    } else if (strcmp(cmd, "alerts") == 0) {
        print_alerts(rep);
    } else if (strcmp(cmd, "test-receiver") == 0) {
        printf("receiver %s: test notification delivered\n", arg);
    } else if (silence_add) {
        printf("silence %s added\n", str(rep, "id"));
    } else if (strcmp(cmd, "silence query") == 0) {
        print_silences(rep);
    } else if (strcmp(cmd, "silence expire") == 0) {
        printf("silence %s expired\n", arg);
    } else if (strcmp(cmd, "routes test") == 0 || strcmp(cmd, "oncall") == 0) {
        const char *t = str(rep, "text");
        printf("%s%s", t, t[0] && t[strlen(t) - 1] == '\n' ? "" : "\n");
    } else if (strcmp(cmd, "ack") == 0) {
        printf("alert %s acknowledged by %s\n", arg, str(rep, "by"));
    } else {
        printf("configuration reloaded\n");
    }
    json_decref(rep);
    return EXIT_OK;
}
