/*
 * receiver.c: the receiver-driver dispatch, the helpers the drivers share,
 * answer verdicts, log redaction and Apprise-style URLs.  Pure; owns
 * nothing past the objects it returns.
 */
#include "tocsin/receiver.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "recv_int.h"

static const struct {
    const char *name;
    recv_build_fn build;
} types[TOCSIN_RECEIVER_NTYPES] = {
    [TOCSIN_RECEIVER_WEBHOOK] = {"webhook", recv_webhook},
    [TOCSIN_RECEIVER_NTFY] = {"ntfy", recv_ntfy},
    [TOCSIN_RECEIVER_SLACK] = {"slack", recv_slack},
    [TOCSIN_RECEIVER_PAGERDUTY] = {"pagerduty", recv_pagerduty},
    [TOCSIN_RECEIVER_TELEGRAM] = {"telegram", recv_telegram},
    [TOCSIN_RECEIVER_PUSHOVER] = {"pushover", recv_pushover},
    [TOCSIN_RECEIVER_DISCORD] = {"discord", recv_discord},
    [TOCSIN_RECEIVER_MATTERMOST] = {"mattermost", recv_mattermost},
    [TOCSIN_RECEIVER_MSTEAMS] = {"msteams", recv_msteams},
    [TOCSIN_RECEIVER_GOTIFY] = {"gotify", recv_gotify},
    [TOCSIN_RECEIVER_OPSGENIE] = {"opsgenie", recv_opsgenie},
    [TOCSIN_RECEIVER_EMAIL] = {"email", recv_email},
    [TOCSIN_RECEIVER_FCM] = {"fcm", recv_fcm},
    [TOCSIN_RECEIVER_APNS] = {"apns", recv_apns},
    [TOCSIN_RECEIVER_WEBPUSH] = {"webpush", recv_webpush},
};

const char *
tocsin_receiver_type_name(enum tocsin_receiver_type t)
{
    return (unsigned)t < TOCSIN_RECEIVER_NTYPES ? types[t].name : "?";
}

int
tocsin_receiver_type_parse(const char *name, enum tocsin_receiver_type *t)
{
    for (unsigned i = 0; i < TOCSIN_RECEIVER_NTYPES; i++)
        if (strcmp(name, types[i].name) == 0) {
            *t = (enum tocsin_receiver_type)i;
            return 0;
        }
    return -1;
}

const char *
tocsin_receiver_type_list(void)
{
    return "webhook, ntfy, slack, pagerduty, telegram, pushover, discord, "
           "mattermost, msteams, gotify, opsgenie, email, fcm, apns, webpush";
}

/* ---- requests ------------------------------------------------------------ */

static void
wipe_free(char *s)
{
    if (s) {
        volatile char *p = s;
        while (*p)
            *p++ = '\0';
        free(s);
    }
}

void
tocsin_request_free(struct tocsin_request *q)
{
    if (!q)
        return;
    wipe_free(q->url);
    for (size_t i = 0; i < q->nheaders; i++)
        wipe_free(q->headers[i]);
    free(q->body);
    free(q->mail_from);
    for (size_t i = 0; i < q->nrcpt; i++)
        free(q->rcpt[i]);
    free(q->rcpt);
    wipe_free(q->user);
    wipe_free(q->password);
    free(q);
}

tocsin_err
tocsin_receiver_request(struct tocsin_request **out,
                        const struct tocsin_receiver_config *r,
                        const char *delivery, const char *body, size_t len,
                        unsigned step, int64_t now_ms)
{
    if (!out || !r || !body || (unsigned)r->type >= TOCSIN_RECEIVER_NTYPES)
        return TOCSIN_EINVAL;
    struct tocsin_message m;
    memset(&m, 0, sizeof m);
    tocsin_err err;
    if (r->type != TOCSIN_RECEIVER_WEBHOOK &&
        (err = tocsin_message_parse(&m, body, len)) != TOCSIN_OK)
        return err;
    struct tocsin_request *q = calloc(1, sizeof *q);
    if (!q) {
        tocsin_message_fini(&m);
        return TOCSIN_ENOMEM;
    }
    q->method = "POST";
    struct recv_ctx c = {
        .r = r,
        .m = r->type == TOCSIN_RECEIVER_WEBHOOK ? NULL : &m,
        .body = body,
        .len = len,
        .delivery = delivery ? delivery : "",
        .step = step,
        .now_ms = now_ms,
    };
    err = types[r->type].build(q, &c);
    if (err == TOCSIN_OK && !q->url)
        err = TOCSIN_EINVAL;
    tocsin_message_fini(&m);
    if (err) {
        tocsin_request_free(q);
        return err;
    }
    *out = q;
    return TOCSIN_OK;
}

tocsin_err
recv_set_url(struct tocsin_request *q, const char *base, const char *path)
{
    size_t bl = strlen(base);
    while (bl > 0 && base[bl - 1] == '/')
        bl--;
    size_t n = bl + strlen(path) + 1;
    char *u = malloc(n);
    if (!u)
        return TOCSIN_ENOMEM;
    memcpy(u, base, bl);
    memcpy(u + bl, path, strlen(path) + 1);
    wipe_free(q->url);
    q->url = u;
    return TOCSIN_OK;
}

tocsin_err
recv_post_to_url(struct tocsin_request *q, const struct recv_ctx *c)
{
    if (c->step > 0)
        return TOCSIN_ENOENT;
    if (!c->r->url)
        return TOCSIN_EINVAL;
    return recv_set_url(q, c->r->url, "");
}

tocsin_err
recv_header(struct tocsin_request *q, const char *fmt, ...)
{
    if (q->nheaders == TOCSIN_REQUEST_MAX_HEADERS)
        return TOCSIN_ERANGE;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return TOCSIN_EINVAL;
    char *h = malloc((size_t)n + 1);
    if (!h)
        return TOCSIN_ENOMEM;
    va_start(ap, fmt);
    vsnprintf(h, (size_t)n + 1, fmt, ap);
    va_end(ap);
    /* A header line must stay one line. */
    for (char *p = h; *p; p++)
        if (*p == '\r' || *p == '\n')
            *p = ' ';
    q->headers[q->nheaders++] = h;
    return TOCSIN_OK;
}

tocsin_err
recv_json_body(struct tocsin_request *q, json_t *v)
{
    if (!v)
        return TOCSIN_ENOMEM;
    char *s = json_dumps(v, JSON_COMPACT | JSON_REAL_PRECISION(10));
    json_decref(v);
    if (!s)
        return TOCSIN_ENOMEM;
    free(q->body);
    q->body = s;
    q->body_len = strlen(s);
    return recv_header(q, "Content-Type: application/json");
}

int
recv_set(json_t *o, const char *key, json_t *v)
{
    return v ? json_object_set_new(o, key, v) : -1;
}

enum tocsin_prio_slot
recv_slot(const struct tocsin_message *m)
{
    if (m->resolved)
        return TOCSIN_PRIO_RESOLVED;
    if (strcmp(m->severity, "critical") == 0)
        return TOCSIN_PRIO_CRITICAL;
    if (strcmp(m->severity, "error") == 0)
        return TOCSIN_PRIO_ERROR;
    if (strcmp(m->severity, "info") == 0)
        return TOCSIN_PRIO_INFO;
    return TOCSIN_PRIO_WARNING;
}

int
recv_priority(const struct tocsin_receiver_config *r,
              const struct tocsin_message *m, const int *dflt)
{
    enum tocsin_prio_slot s = recv_slot(m);
    return (r->priority_set & (1u << s)) ? r->priority[s] : dflt[s];
}

char *
recv_ack_url(const struct tocsin_receiver_config *r,
             const struct tocsin_message *m, int *oom)
{
    const char *fp = m->fingerprint;
    if (m->ack_url[0]) { /* on call's signed link for this alert */
        char *s = strdup(m->ack_url);
        if (!s)
            *oom = 1;
        return s;
    }
    if (!fp[0])
        return NULL;
    const char *base = r->ack_url;
    char *u = NULL;
    if (base && base[0]) {
        const char *ph = strstr(base, "{fingerprint}");
        size_t n = strlen(base) + strlen(fp) + 2;
        u = malloc(n);
        if (u && ph)
            snprintf(u, n, "%.*s%s%s", (int)(ph - base), base, fp,
                     ph + strlen("{fingerprint}"));
        else if (u)
            snprintf(u, n, "%s%s%s", base,
                     base[strlen(base) - 1] == '/' ? "" : "/", fp);
    } else if (m->external_url[0]) {
        size_t bl = strlen(m->external_url);
        while (bl > 0 && m->external_url[bl - 1] == '/')
            bl--;
        size_t n = bl + strlen(fp) + sizeof "/ack/";
        u = malloc(n);
        if (u)
            snprintf(u, n, "%.*s/ack/%s", (int)bl, m->external_url, fp);
    } else {
        return NULL;
    }
    if (!u)
        *oom = 1;
    return u;
}

tocsin_err
recv_form_add(char **buf, size_t *len, const char *key, const char *value)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t need = strlen(key) + 3 * strlen(value) + 3;
    char *b = realloc(*buf, *len + need);
    if (!b)
        return TOCSIN_ENOMEM;
    *buf = b;
    size_t o = *len;
    if (o)
        b[o++] = '&';
    for (const char *p = key; *p; p++)
        b[o++] = *p;
    b[o++] = '=';
    for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
        if (isalnum(*p) || *p == '-' || *p == '_' || *p == '.' || *p == '~') {
            b[o++] = (char)*p;
        } else {
            b[o++] = '%';
            b[o++] = hex[*p >> 4];
            b[o++] = hex[*p & 15];
        }
    }
    b[o] = '\0';
    *len = o;
    return TOCSIN_OK;
}

const char *
recv_source(const struct tocsin_receiver_config *r)
{
    return r->source && r->source[0] ? r->source : "tocsin";
}

/* ---- verdicts ------------------------------------------------------------ */

/* memmem, without _GNU_SOURCE. */
static const char *
mem_find(const char *h, size_t hn, const char *needle, size_t nn)
{
    for (size_t i = 0; nn && i + nn <= hn; i++)
        if (memcmp(h + i, needle, nn) == 0)
            return h + i;
    return NULL;
}

/* A "retry_after": N (seconds, maybe fractional) in a JSON answer. */
static int64_t
body_retry_after(const char *resp, size_t len)
{
    static const char key[] = "\"retry_after\"";
    for (size_t i = 0; i + sizeof key - 1 <= len; i++) {
        if (memcmp(resp + i, key, sizeof key - 1) != 0)
            continue;
        size_t k = i + sizeof key - 1;
        while (k < len && (resp[k] == ' ' || resp[k] == ':'))
            k++;
        char num[32];
        size_t n = 0;
        while (k < len && n + 1 < sizeof num &&
               (isdigit((unsigned char)resp[k]) || resp[k] == '.'))
            num[n++] = resp[k++];
        num[n] = '\0';
        if (n == 0)
            return -1;
        double s = strtod(num, NULL);
        if (s < 0 || s > 86400)
            return -1;
        return (int64_t)(s * 1000 + 0.5);
    }
    return -1;
}

enum tocsin_verdict
tocsin_receiver_verdict(const struct tocsin_receiver_config *r, unsigned step,
                        long status, const char *resp, size_t resp_len,
                        int64_t *retry_after_ms)
{
    if (retry_after_ms)
        *retry_after_ms = -1;
    if (status >= 200 && status < 300)
        return TOCSIN_VERDICT_OK;
    /* SMTP: 4xx is transient, 5xx permanent (a refused recipient). */
    if (r->type == TOCSIN_RECEIVER_EMAIL)
        return status >= 500 ? TOCSIN_VERDICT_FAIL : TOCSIN_VERDICT_RETRY;
    /* A bearer token the gateway no longer takes: forget it, so the retry
     * gets a fresh one. */
    if (r->type == TOCSIN_RECEIVER_FCM && status == 401) {
        recv_fcm_forget(r);
        return TOCSIN_VERDICT_RETRY;
    }
    if (r->type == TOCSIN_RECEIVER_APNS && status == 403 && resp &&
        (mem_find(resp, resp_len, "ExpiredProviderToken", 20) ||
         mem_find(resp, resp_len, "InvalidProviderToken", 20))) {
        recv_apns_forget(r);
        if (mem_find(resp, resp_len, "ExpiredProviderToken", 20))
            return TOCSIN_VERDICT_RETRY;
    }
    if (status >= 500 || status == 408 || status == 429) {
        if (retry_after_ms && resp &&
            (r->type == TOCSIN_RECEIVER_TELEGRAM ||
             r->type == TOCSIN_RECEIVER_DISCORD ||
             r->type == TOCSIN_RECEIVER_SLACK))
            *retry_after_ms = body_retry_after(resp, resp_len);
        return TOCSIN_VERDICT_RETRY;
    }
    /* Cancelling a Pushover emergency that is gone already (expired,
     * acknowledged) must not keep the "resolved" message from going. */
    if (r->type == TOCSIN_RECEIVER_PUSHOVER && step == 0 && status >= 400 &&
        status < 500)
        return TOCSIN_VERDICT_OK;
    /* Reading back an emergency's receipt is best effort: it never holds
     * the delivery. */
    if (r->type == TOCSIN_RECEIVER_PUSHOVER && step == 2)
        return TOCSIN_VERDICT_OK;
    return TOCSIN_VERDICT_FAIL;
}

tocsin_err
tocsin_receiver_absorb(const struct tocsin_receiver_config *r, const char *body,
                       size_t body_len, unsigned step, const char *resp,
                       size_t len, int64_t now_ms)
{
    if (!r || !resp)
        return TOCSIN_EINVAL;
    if (r->type == TOCSIN_RECEIVER_FCM)
        return recv_fcm_absorb(r, resp, len, now_ms);
    if (r->type != TOCSIN_RECEIVER_PUSHOVER || !body)
        return TOCSIN_EPROTO;
    struct tocsin_message m;
    tocsin_err err = tocsin_message_parse(&m, body, body_len);
    if (err)
        return err;
    err = recv_pushover_absorb(r, &m, step, resp, len, now_ms);
    tocsin_message_fini(&m);
    return err;
}

/* The value of "key": "..." in a JSON answer (first 63 bytes). */
static int
json_field(const char *resp, size_t len, const char *key, char *out, size_t cap)
{
    char pat[40];
    snprintf(pat, sizeof pat, "\"%s\"", key);
    const char *p = mem_find(resp, len, pat, strlen(pat));
    if (!p)
        return 0;
    const char *end = resp + len;
    p += strlen(pat);
    while (p < end && (*p == ' ' || *p == ':'))
        p++;
    if (p >= end || *p != '"')
        return 0;
    p++;
    size_t k = 0;
    while (p < end && *p != '"' && k + 1 < cap) {
        unsigned char ch = (unsigned char)*p++;
        out[k++] = isprint(ch) ? (char)ch : '?';
    }
    out[k] = '\0';
    return k > 0;
}

const char *
tocsin_receiver_reason(const struct tocsin_receiver_config *r, long status,
                       const char *resp, size_t resp_len, char *buf, size_t n)
{
    if (!r || !buf || n == 0)
        return NULL;
    char why[64] = "";
    if (!resp)
        resp_len = 0;
    switch (r->type) {
    case TOCSIN_RECEIVER_APNS:
        json_field(resp ? resp : "", resp_len, "reason", why, sizeof why);
        if (status == 410)
            snprintf(buf, n,
                     "device token no longer active, giving it up "
                     "(APNs %ld %s)",
                     status, why[0] ? why : "Unregistered");
        else if (strcmp(why, "BadDeviceToken") == 0 ||
                 strcmp(why, "DeviceTokenNotForTopic") == 0)
            snprintf(buf, n, "device token refused (APNs %ld %s)", status, why);
        else
            snprintf(buf, n, "APNs %ld %s", status, why[0] ? why : "");
        return buf;
    case TOCSIN_RECEIVER_FCM:
        if (!json_field(resp ? resp : "", resp_len, "errorCode", why,
                        sizeof why))
            json_field(resp ? resp : "", resp_len, "status", why, sizeof why);
        if (status == 404 || strcmp(why, "UNREGISTERED") == 0)
            snprintf(buf, n,
                     "registration token no longer valid, giving it "
                     "up (FCM %ld %s)",
                     status, why[0] ? why : "UNREGISTERED");
        else
            snprintf(buf, n, "FCM %ld %s", status, why);
        return buf;
    case TOCSIN_RECEIVER_EMAIL:
        snprintf(buf, n, "mail refused for good (SMTP %ld)", status);
        return buf;
    case TOCSIN_RECEIVER_WEBPUSH:
        if (status == 404 || status == 410)
            snprintf(buf, n, "subscription gone, giving it up (HTTP %ld)",
                     status);
        else if (status == 413)
            snprintf(buf, n, "payload too large (HTTP 413)");
        else
            return NULL;
        return buf;
    default:
        return NULL;
    }
}

/* ---- redaction ---------------------------------------------------------- */

char *
tocsin_receiver_redact(const struct tocsin_receiver_config *r, const char *url,
                       char *buf, size_t n)
{
    if (n == 0)
        return buf;
    if (!url) {
        snprintf(buf, n, "?");
        return buf;
    }
    if (tocsin_apprise_scheme(url)) { /* the secret may be anywhere */
        snprintf(buf, n, "%.*s://REDACTED", (int)strcspn(url, ":"), url);
        return buf;
    }
    int keep_path = !r || r->type == TOCSIN_RECEIVER_WEBHOOK ||
                    r->type == TOCSIN_RECEIVER_NTFY ||
                    r->type == TOCSIN_RECEIVER_GOTIFY;
    if (keep_path)
        return tocsin_log_redact_url(url, buf, n);
    const char *sch = strstr(url, "://");
    const char *host = sch ? sch + 3 : url;
    const char *at = strchr(host, '@');
    const char *end = host + strcspn(host, "/?#");
    if (at && at < end)
        host = at + 1;
    snprintf(buf, n, "%.*s%.*s%s", sch ? (int)(sch + 3 - url) : 0, url,
             (int)(end - host), host, *end ? "/REDACTED" : "");
    return buf;
}

/* ---- Apprise URLs ------------------------------------------------------- */

static const struct {
    const char *scheme;
    enum tocsin_receiver_type type;
    int tls;
} schemes[] = {
    {"ntfy", TOCSIN_RECEIVER_NTFY, 0},
    {"ntfys", TOCSIN_RECEIVER_NTFY, 1},
    {"pover", TOCSIN_RECEIVER_PUSHOVER, 1},
    {"gotify", TOCSIN_RECEIVER_GOTIFY, 0},
    {"gotifys", TOCSIN_RECEIVER_GOTIFY, 1},
    {"slack", TOCSIN_RECEIVER_SLACK, 1},
    {"tgram", TOCSIN_RECEIVER_TELEGRAM, 1},
    {"discord", TOCSIN_RECEIVER_DISCORD, 1},
    {"mmost", TOCSIN_RECEIVER_MATTERMOST, 0},
    {"mmosts", TOCSIN_RECEIVER_MATTERMOST, 1},
    {"pagerduty", TOCSIN_RECEIVER_PAGERDUTY, 1},
    {"opsgenie", TOCSIN_RECEIVER_OPSGENIE, 1},
    {"json", TOCSIN_RECEIVER_WEBHOOK, 0},
    {"jsons", TOCSIN_RECEIVER_WEBHOOK, 1},
    {"mailto", TOCSIN_RECEIVER_EMAIL, 0},
    {"mailtos", TOCSIN_RECEIVER_EMAIL, 1},
};

static int
scheme_index(const char *url)
{
    const char *p = strstr(url, "://");
    if (!p)
        return -1;
    size_t n = (size_t)(p - url);
    for (size_t i = 0; i < sizeof schemes / sizeof schemes[0]; i++)
        if (strlen(schemes[i].scheme) == n &&
            strncasecmp(url, schemes[i].scheme, n) == 0)
            return (int)i;
    return -1;
}

int
tocsin_apprise_scheme(const char *url)
{
    return url && scheme_index(url) >= 0;
}

void
tocsin_apprise_fini(struct tocsin_apprise *a)
{
    if (!a)
        return;
    wipe_free(a->url);
    wipe_free(a->token);
    wipe_free(a->user);
    wipe_free(a->password);
    free(a->topic);
    free(a->chat_id);
    free(a->device);
    free(a->from);
    free(a->to);
    memset(a, 0, sizeof *a);
}

static char *
ndup(const char *s, size_t n, int *oom)
{
    char *d = malloc(n + 1);
    if (!d) {
        *oom = 1;
        return NULL;
    }
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

static char *fmt_url(int *oom, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static char *
fmt_url(int *oom, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *s = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (!s) {
        *oom = 1;
        return NULL;
    }
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

#define MAX_SEGS 8

/* Split "a/b/c" (no query) into up to MAX_SEGS non-empty segments. */
static size_t
split(const char *s, size_t len, const char **seg, size_t *segn)
{
    size_t k = 0, i = 0;
    while (i < len && k < MAX_SEGS) {
        size_t j = i;
        while (j < len && s[j] != '/')
            j++;
        if (j > i) {
            seg[k] = s + i;
            segn[k++] = j - i;
        }
        i = j + 1;
    }
    return k;
}

tocsin_err
tocsin_apprise_parse(const char *url, struct tocsin_apprise *out, char *why,
                     size_t cap)
{
    int si = scheme_index(url);
    if (si < 0) {
        snprintf(why, cap, "unknown URL scheme");
        return TOCSIN_EINVAL;
    }
    struct tocsin_apprise a;
    memset(&a, 0, sizeof a);
    a.type = schemes[si].type;
    const char *http = schemes[si].tls ? "https" : "http";
    const char *rest = strstr(url, "://") + 3;
    size_t rl = strcspn(rest, "?"); /* "#" may start a channel name */
    if (rest[rl] || strpbrk(rest, " \t\r\n")) {
        snprintf(why, cap, "%s",
                 rest[rl] ? "query strings are not supported"
                          : "contains white space");
        return TOCSIN_EINVAL;
    }
    /* userinfo@ before the first '/' */
    const char *slash = memchr(rest, '/', rl);
    const char *at = memchr(rest, '@', slash ? (size_t)(slash - rest) : rl);
    const char *ui = NULL;
    size_t uin = 0;
    if (at) {
        ui = rest;
        uin = (size_t)(at - rest);
        rl -= uin + 1;
        rest = at + 1;
    }
    const char *seg[MAX_SEGS];
    size_t segn[MAX_SEGS];
    size_t ns = split(rest, rl, seg, segn);
    int oom = 0;
    const char *colon = ui ? memchr(ui, ':', uin) : NULL;
    switch (a.type) {
    case TOCSIN_RECEIVER_NTFY:
        /* ntfy://topic, ntfy://host/topic, ntfy://token@host/topic,
         * ntfy://user:pass@host/topic */
        if (ns == 1 && !ui) {
            a.url = fmt_url(&oom, "https://ntfy.sh");
            a.topic = ndup(seg[0], segn[0], &oom);
        } else if (ns == 2) {
            a.url = fmt_url(&oom, "%s://%.*s", http, (int)segn[0], seg[0]);
            a.topic = ndup(seg[1], segn[1], &oom);
        } else {
            snprintf(why, cap,
                     "expected ntfy[s]://[USER:PASS@|TOKEN@]HOST/"
                     "TOPIC");
            return TOCSIN_EINVAL;
        }
        if (ui && colon) {
            a.user = ndup(ui, (size_t)(colon - ui), &oom);
            a.password = ndup(colon + 1, uin - (size_t)(colon - ui) - 1, &oom);
        } else if (ui) {
            a.token = ndup(ui, uin, &oom);
        }
        break;
    case TOCSIN_RECEIVER_PUSHOVER:
        /* pover://user@token[/device] */
        if (!ui || !uin || ns < 1 || ns > 2 || colon) {
            snprintf(why, cap, "expected pover://USER@TOKEN[/DEVICE]");
            return TOCSIN_EINVAL;
        }
        a.user = ndup(ui, uin, &oom);
        a.token = ndup(seg[0], segn[0], &oom);
        if (ns == 2)
            a.device = ndup(seg[1], segn[1], &oom);
        a.url = fmt_url(&oom, "https://api.pushover.net");
        break;
    case TOCSIN_RECEIVER_GOTIFY:
        /* gotify://host[/path]/token */
        if (ns < 2 || ui) {
            snprintf(why, cap, "expected gotify[s]://HOST[/PATH]/TOKEN");
            return TOCSIN_EINVAL;
        }
        a.url = fmt_url(&oom, "%s://%.*s", http,
                        (int)(seg[ns - 1] - 1 - seg[0]), seg[0]);
        a.token = ndup(seg[ns - 1], segn[ns - 1], &oom);
        break;
    case TOCSIN_RECEIVER_SLACK:
        /* slack://TokenA/TokenB/TokenC[/#channel] (the channel is fixed
         * by an incoming webhook; ignored) */
        if (ns < 3 || ui) {
            snprintf(why, cap, "expected slack://TOKENA/TOKENB/TOKENC");
            return TOCSIN_EINVAL;
        }
        a.url = fmt_url(&oom, "https://hooks.slack.com/services/%.*s/%.*s/%.*s",
                        (int)segn[0], seg[0], (int)segn[1], seg[1],
                        (int)segn[2], seg[2]);
        break;
    case TOCSIN_RECEIVER_TELEGRAM:
        /* tgram://bottoken/chatid */
        if (ns != 2 || ui) {
            snprintf(why, cap, "expected tgram://BOTTOKEN/CHAT_ID");
            return TOCSIN_EINVAL;
        }
        a.token = ndup(seg[0], segn[0], &oom);
        a.chat_id = ndup(seg[1], segn[1], &oom);
        a.url = fmt_url(&oom, "https://api.telegram.org");
        break;
    case TOCSIN_RECEIVER_DISCORD:
        /* discord://webhook_id/webhook_token */
        if (ns != 2 || ui) {
            snprintf(why, cap, "expected discord://WEBHOOK_ID/WEBHOOK_TOKEN");
            return TOCSIN_EINVAL;
        }
        a.url = fmt_url(&oom, "https://discord.com/api/webhooks/%.*s/%.*s",
                        (int)segn[0], seg[0], (int)segn[1], seg[1]);
        break;
    case TOCSIN_RECEIVER_MATTERMOST:
        /* mmost://host[:port][/path]/token */
        if (ns < 2 || ui) {
            snprintf(why, cap, "expected mmost[s]://HOST[/PATH]/TOKEN");
            return TOCSIN_EINVAL;
        }
        a.url = fmt_url(&oom, "%s://%.*s/hooks/%.*s", http,
                        (int)(seg[ns - 1] - 1 - seg[0]), seg[0],
                        (int)segn[ns - 1], seg[ns - 1]);
        break;
    case TOCSIN_RECEIVER_PAGERDUTY:
        /* pagerduty://integrationkey[@apikey] (the API key is not needed
         * for Events v2) */
        if (ui ? (uin == 0 || colon) : ns != 1) {
            snprintf(why, cap,
                     "expected pagerduty://INTEGRATION_KEY"
                     "[@API_KEY]");
            return TOCSIN_EINVAL;
        }
        a.token = ui ? ndup(ui, uin, &oom) : ndup(seg[0], segn[0], &oom);
        a.url = fmt_url(&oom, "https://events.pagerduty.com/v2/enqueue");
        break;
    case TOCSIN_RECEIVER_OPSGENIE:
        /* opsgenie://apikey */
        if (ns != 1 || ui) {
            snprintf(why, cap, "expected opsgenie://API_KEY");
            return TOCSIN_EINVAL;
        }
        a.token = ndup(seg[0], segn[0], &oom);
        a.url = fmt_url(&oom, "https://api.opsgenie.com");
        break;
    case TOCSIN_RECEIVER_EMAIL: {
        /* mailto[s]://[USER[:PASS]@]HOST[:PORT][/TO[/TO...]]: SMTP with
         * STARTTLS (port 587) or TLS (smtps, port 465); without TO, mail
         * goes to USER@HOST, which is also the sender. */
        int bad_to = 0;
        for (size_t i = 1; i < ns; i++)
            bad_to |= memchr(seg[i], '@', segn[i]) == NULL;
        if (ns < 1 || bad_to) {
            snprintf(why, cap,
                     "expected mailto[s]://[USER:PASS@]HOST[:PORT]"
                     "[/TO...]");
            return TOCSIN_EINVAL;
        }
        int port = memchr(seg[0], ':', segn[0]) != NULL;
        a.url = fmt_url(&oom, "%s://%.*s%s", schemes[si].tls ? "smtps" : "smtp",
                        (int)segn[0], seg[0],
                        port              ? ""
                        : schemes[si].tls ? ":465"
                                          : ":587");
        size_t hl = strcspn(seg[0], ":/");
        if (hl > segn[0])
            hl = segn[0];
        if (ui) {
            size_t ul = colon ? (size_t)(colon - ui) : uin;
            a.user = ndup(ui, ul, &oom);
            if (colon)
                a.password =
                    ndup(colon + 1, uin - (size_t)(colon - ui) - 1, &oom);
            a.from = fmt_url(&oom, "%.*s@%.*s", (int)ul, ui, (int)hl, seg[0]);
        }
        if (ns > 1) {
            size_t tl = 0;
            for (size_t i = 1; i < ns; i++)
                tl += segn[i] + 1;
            a.to = malloc(tl);
            if (!a.to) {
                oom = 1;
            } else {
                size_t o = 0;
                for (size_t i = 1; i < ns; i++) {
                    memcpy(a.to + o, seg[i], segn[i]);
                    o += segn[i];
                    a.to[o++] = i + 1 < ns ? ',' : '\0';
                }
            }
        } else if (a.from) {
            a.to = fmt_url(&oom, "%s", a.from);
        }
        break;
    }
    default:
        /* json://host[:port]/path */
        if (ns < 1 || ui) {
            snprintf(why, cap, "expected json[s]://HOST[:PORT]/PATH");
            return TOCSIN_EINVAL;
        }
        a.url = fmt_url(&oom, "%s://%.*s", http, (int)rl, rest);
        break;
    }
    if (oom) {
        tocsin_apprise_fini(&a);
        return TOCSIN_ENOMEM;
    }
    *out = a;
    return TOCSIN_OK;
}
