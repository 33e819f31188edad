/*
 * config.c: load tocsind's libconfig file into a fresh struct tocsin_config.
 *
 * One key table per group gives every key its type, bounds, default and
 * validator (like Redis's config.c).  Loading fills a new config with the
 * defaults, walks the file's settings in file order, and reports every
 * problem as "file:line: path: message" into a tocsin_errbuf (like
 * OpenSMTPD) instead of stopping at the first.  Unknown keys get a "did you
 * mean" from an edit distance against the keys valid at that level (like
 * haproxy).  Secrets (redis password, receiver HMAC keys) are never echoed.
 *
 * libconfig 1.5 silently wraps integer literals that do not fit 32 bits, so
 * the main file's text is scanned first with strtoll and such literals are
 * reported with their real value.
 *
 * Ownership: the loader owns everything until it hands the finished config
 * to the caller, who frees it with tocsin_config_free().  No globals; safe
 * to call from any thread.
 */
#include "tocsin/config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <jansson.h>
#include <libconfig.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "tocsin/engine.h"
#include "tocsin/jose.h"
#include "tocsin/receiver.h"
#include "tocsin/redis.h"
#include "tocsin/strbuf.h"
#include "tocsin/tz.h"

#include "config_int.h"

#ifndef TOCSIN_DATADIR
#define TOCSIN_DATADIR "/usr/share/tocsin"
#endif

#define CONFIG_MAX_FILE_BYTES   (16 * 1024 * 1024)
#define CONFIG_MAX_SECRET_BYTES 65536
#define CONFIG_SHOWN_MAX        80

/* ---- error buffer ---- */

void
tocsin_errbuf_addf(struct tocsin_errbuf *eb, const char *fmt, ...)
{
    if (!eb)
        return;
    /* The lines are grown as a strbuf; a line that does not fit in memory
     * is left out whole. */
    struct tocsin_strbuf b = {eb->text, eb->len, eb->cap, 0};
    va_list ap;
    va_start(ap, fmt);
    int n = tocsin_strbuf_vprintf(&b, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if (n == 0 || b.s[b.len - 1] != '\n')
        tocsin_strbuf_add(&b, "\n", 1);
    eb->text = b.s;
    eb->cap = b.cap;
    if (b.oom) {
        eb->text[eb->len] = '\0';
        return;
    }
    eb->len = b.len;
    eb->count++;
}

void
tocsin_errbuf_clear(struct tocsin_errbuf *eb)
{
    if (!eb)
        return;
    free(eb->text);
    memset(eb, 0, sizeof *eb);
}

/* ---- loader context ---- */

struct intlit {
    unsigned line;
    int overflow;    /* 1: beyond 32 bits, 2: beyond 64 bits */
    long long value; /* when overflow < 2 */
};

struct ctx {
    const char *name; /* the main file's name, as given */
    char *dir;        /* base for relative paths */
    struct tocsin_errbuf *errs;
    int nerr;
    int oom;
    struct intlit *lits; /* integer literals of the main file */
    size_t nlits, caplits;
    const config_setting_t **bad; /* settings already reported */
    size_t nbad, capbad;
    char hostname[256];
};

static void cerr(struct ctx *c, const config_setting_t *s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Report one error at setting s (NULL: no line). */
static void
cerr(struct ctx *c, const config_setting_t *s, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    /* The main file is read from memory (no source file); an @included
     * one is named as written, relative to the main file's directory. */
    const char *file = s ? config_setting_source_file(s) : NULL;
    const char *dir = "";
    if (!file)
        file = c->name;
    else if (file[0] != '/' && strcmp(c->dir, ".") != 0)
        dir = c->dir;
    c->nerr++;
    if (s && c->nbad == c->capbad) {
        size_t cap = c->capbad ? c->capbad * 2 : 16;
        const config_setting_t **b = realloc(c->bad, cap * sizeof *b);
        if (b) {
            c->bad = b;
            c->capbad = cap;
        }
    }
    if (s && c->nbad < c->capbad)
        c->bad[c->nbad++] = s;
    const char *sep = *dir && dir[strlen(dir) - 1] != '/' ? "/" : "";
    tocsin_errbuf_addf(c->errs, "%s%s%s:%u: %s", dir, sep, file,
                       s ? (unsigned)config_setting_source_line(s) : 0u, msg);
}

/* Whether an error was reported at s (cross-key checks skip those). */
static int
reported(const struct ctx *c, const config_setting_t *s)
{
    for (size_t i = 0; i < c->nbad; i++)
        if (c->bad[i] == s)
            return 1;
    return 0;
}

/* A member of g that is present and was not reported, or NULL. */
static const config_setting_t *
good_member(const struct ctx *c, const config_setting_t *g, const char *name)
{
    const config_setting_t *s = config_setting_get_member(g, name);
    return s && !reported(c, s) ? s : NULL;
}

static char *
xstrdup(struct ctx *c, const char *s)
{
    char *d = strdup(s);
    if (!d)
        c->oom = 1;
    return d;
}

/* A user-supplied string made safe to show on one line. */
static const char *
shown(const char *s, char *buf, size_t n)
{
    size_t o = 0, i = 0;
    for (; s[i] && o + 4 < n && i < CONFIG_SHOWN_MAX; i++) {
        unsigned char ch = (unsigned char)s[i];
        buf[o++] = (ch < 0x20 || ch == 0x7f || ch == '"') ? '?' : (char)ch;
    }
    if (s[i]) {
        memcpy(buf + o, "...", 3);
        o += 3;
    }
    buf[o] = '\0';
    return buf;
}

static const char *
type_name(int t)
{
    switch (t) {
    case CONFIG_TYPE_GROUP:
        return "a group";
    case CONFIG_TYPE_INT:
    case CONFIG_TYPE_INT64:
        return "an integer";
    case CONFIG_TYPE_FLOAT:
        return "a float";
    case CONFIG_TYPE_STRING:
        return "a string";
    case CONFIG_TYPE_BOOL:
        return "a boolean";
    case CONFIG_TYPE_ARRAY:
        return "an array";
    case CONFIG_TYPE_LIST:
        return "a list";
    default:
        return "nothing";
    }
}

/* ---- integer literals (libconfig 1.5 wraps them silently) ---- */

static void
add_lit(struct ctx *c, unsigned line, int overflow, long long v)
{
    if (c->nlits == c->caplits) {
        size_t cap = c->caplits ? c->caplits * 2 : 64;
        struct intlit *l = realloc(c->lits, cap * sizeof *l);
        if (!l) {
            c->oom = 1;
            return;
        }
        c->lits = l;
        c->caplits = cap;
    }
    c->lits[c->nlits++] = (struct intlit){line, overflow, v};
}

static int
is_name_char(char ch)
{
    return isalnum((unsigned char)ch) || ch == '_' || ch == '-' || ch == '*';
}

/* Classify one numeric token of libconfig's grammar. */
static void
scan_number(struct ctx *c, const char *tok, size_t n, unsigned line)
{
    char buf[64];
    int neg = tok[0] == '-';
    if (n && (tok[n - 1] == 'L' || tok[n - 1] == 'l'))
        return; /* 64-bit literal: libconfig keeps it whole */
    int hex = memchr(tok, 'x', n) || memchr(tok, 'X', n);
    if (!hex &&
        (memchr(tok, '.', n) || memchr(tok, 'e', n) || memchr(tok, 'E', n)))
        return; /* float */
    if (n >= sizeof buf) {
        add_lit(c, line, 2, neg ? LLONG_MIN : LLONG_MAX);
        return;
    }
    memcpy(buf, tok, n);
    buf[n] = '\0';
    char *end;
    errno = 0;
    if (hex) {
        unsigned long long u = strtoull(buf, &end, 16);
        if (*end)
            return; /* libconfig will call it a syntax error */
        int of = errno == ERANGE || u > LLONG_MAX ? 2 : u > INT_MAX;
        add_lit(c, line, of, of == 2 ? LLONG_MAX : (long long)u);
        return;
    }
    long long v = strtoll(buf, &end, 10);
    if (*end)
        return;
    add_lit(c, line, errno == ERANGE ? 2 : v < INT_MIN || v > INT_MAX, v);
}

static void
prescan(struct ctx *c, const char *p)
{
    unsigned line = 1;
    while (*p) {
        if (*p == '\n') {
            line++;
            p++;
        } else if (*p == '"') {
            for (p++; *p && *p != '"'; p++) {
                if (*p == '\\' && p[1])
                    p++;
                if (*p == '\n')
                    line++;
            }
            if (*p)
                p++;
        } else if (*p == '#' || (p[0] == '/' && p[1] == '/')) {
            while (*p && *p != '\n')
                p++;
        } else if (p[0] == '/' && p[1] == '*') {
            for (p += 2; *p && !(p[0] == '*' && p[1] == '/'); p++)
                if (*p == '\n')
                    line++;
            if (*p)
                p += 2;
        } else if (isalpha((unsigned char)*p) || *p == '*' || *p == '@') {
            for (p++; is_name_char(*p);)
                p++;
        } else if (isdigit((unsigned char)*p) ||
                   ((*p == '-' || *p == '+') &&
                    (isdigit((unsigned char)p[1]) || p[1] == '.'))) {
            const char *s = p++;
            while (isalnum((unsigned char)*p) || *p == '.' ||
                   ((*p == '-' || *p == '+') && (p[-1] == 'e' || p[-1] == 'E')))
                p++;
            scan_number(c, s, (size_t)(p - s), line);
        } else {
            p++;
        }
    }
}

/*
 * The real value of an integer setting when libconfig wrapped it: 0 if it
 * was not wrapped, 1 with *v set, 2 if unknown (the line has several
 * integers, or the literal does not fit 64 bits either).
 */
static int
wrapped_value(struct ctx *c, const config_setting_t *s, long long *v)
{
    if (config_setting_source_file(s))
        return 0; /* an @included file: not scanned */
    unsigned line = config_setting_source_line(s);
    int count = 0, overflow = 0, huge = 0;
    for (size_t i = 0; i < c->nlits; i++) {
        if ((unsigned short)c->lits[i].line != line)
            continue;
        count++;
        if (c->lits[i].overflow) {
            overflow = 1;
            huge = c->lits[i].overflow == 2;
            *v = c->lits[i].value;
        }
    }
    if (!overflow)
        return 0;
    return count == 1 && !huge ? 1 : 2;
}

/* ---- "did you mean" ---- */

#define DIST_MAX 64

/* Optimal string alignment distance (Damerau-Levenshtein), ignoring case. */
static size_t
edit_distance(const char *a, const char *b)
{
    static const size_t big = (size_t)-1 / 2;
    size_t la = strlen(a), lb = strlen(b);
    if (la > DIST_MAX || lb > DIST_MAX)
        return big;
    size_t d[DIST_MAX + 1][DIST_MAX + 1];
    for (size_t i = 0; i <= la; i++)
        d[i][0] = i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= la; i++) {
        for (size_t j = 1; j <= lb; j++) {
            int ca = tolower((unsigned char)a[i - 1]);
            int cb = tolower((unsigned char)b[j - 1]);
            size_t cost = ca != cb;
            size_t v = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < v)
                v = d[i][j - 1] + 1;
            if (d[i - 1][j - 1] + cost < v)
                v = d[i - 1][j - 1] + cost;
            if (i > 1 && j > 1 && ca == tolower((unsigned char)b[j - 2]) &&
                tolower((unsigned char)a[i - 2]) == cb &&
                d[i - 2][j - 2] + 1 < v)
                v = d[i - 2][j - 2] + 1;
            d[i][j] = v;
        }
    }
    return d[la][lb];
}

/* ---- key tables ---- */

enum ktype {
    K_INT,       /* int */
    K_FLOAT,     /* double; integers accepted */
    K_BOOL,      /* int 0/1 */
    K_STR,       /* char * */
    K_STRS,      /* char ** with a size_t count at noff */
    K_FILE,      /* read a secret file into the char * */
    K_CRED,      /* read $CREDENTIALS_DIRECTORY/name into the char * */
    K_LEVEL,     /* enum tocsin_log_level */
    K_RTYPE,     /* enum tocsin_receiver_type */
    K_PRIOMAP,   /* receiver priority_map group */
    K_GROUP,     /* a group with its own table */
    K_RECEIVERS, /* the receivers list */
    K_ONCALL,    /* on-call keys: parsed by config_oncall.c at the end */
    K_POST,      /* parsed by the group's post function */
};

#define KF_NONEMPTY 1u  /* a string must not be "" */
#define KF_GT_MIN   2u  /* min is exclusive */
#define KF_REQUIRED 8u  /* must be given */
#define KF_PATH     16u /* relative to the config file's directory */

struct key;
typedef int (*kcheck_fn)(struct ctx *c, const config_setting_t *s,
                         const char *path, const char *v);
typedef void (*kpost_fn)(struct ctx *c, const config_setting_t *g,
                         struct tocsin_config *cfg);

struct key {
    const char *name;
    enum ktype type;
    size_t off;  /* field in the target struct */
    size_t noff; /* K_STRS: the count field */
    double min, max, def;
    const char *defstr;
    unsigned flags;
    kcheck_fn check;
    const struct key *sub; /* K_GROUP */
    size_t nsub;
    kpost_fn post; /* K_GROUP: cross-key checks */
    unsigned types; /* receiver keys: bit (1 << type) of the types that
                       use the key; 0: all */
};

#define CF(f) offsetof(struct tocsin_config, f)
#define RF(f) offsetof(struct tocsin_receiver_config, f)

#define KINT(n, o, lo, hi, d)                                                  \
    {                                                                          \
        .name = n, .type = K_INT, .off = o, .min = lo, .max = hi, .def = d     \
    }
#define KFLOAT(n, o, lo, hi, d, fl)                                            \
    {                                                                          \
        .name = n, .type = K_FLOAT, .off = o, .min = lo, .max = hi, .def = d,  \
        .flags = fl                                                            \
    }
#define KSTR(n, o, d, fl, chk)                                                 \
    {                                                                          \
        .name = n, .type = K_STR, .off = o, .defstr = d, .flags = fl,          \
        .check = chk                                                           \
    }

static int check_redis_url(struct ctx *, const config_setting_t *, const char *,
                           const char *);
static int check_http_url(struct ctx *, const config_setting_t *, const char *,
                          const char *);
static int check_nn_addr(struct ctx *, const config_setting_t *, const char *,
                         const char *);
static int check_hostport(struct ctx *, const config_setting_t *, const char *,
                          const char *);
static int check_name(struct ctx *, const config_setting_t *, const char *,
                      const char *);
static int check_receiver_url(struct ctx *, const config_setting_t *,
                              const char *, const char *);
static int check_ca_file(struct ctx *, const config_setting_t *, const char *,
                         const char *);
static int check_client_cert(struct ctx *, const config_setting_t *,
                             const char *, const char *);
static int check_client_key(struct ctx *, const config_setting_t *,
                            const char *, const char *);
static void post_redis(struct ctx *, const config_setting_t *,
                       struct tocsin_config *);
static void post_control(struct ctx *, const config_setting_t *,
                         struct tocsin_config *);
static void post_detection(struct ctx *, const config_setting_t *,
                           struct tocsin_config *);

/* Defaults written NULL here are filled in at load time (host name). */
static const struct key redis_keys[] = {
    KSTR("url", CF(redis.url), "redis://127.0.0.1:6379", KF_NONEMPTY,
         check_redis_url),
    KSTR("password", CF(redis.password), NULL, KF_NONEMPTY, NULL),
    {.name = "password_file", .type = K_FILE, .off = CF(redis.password)},
    {.name = "streams",
     .type = K_STRS,
     .off = CF(redis.streams),
     .noff = CF(redis.nstreams),
     .defstr = "mentions"},
    KSTR("group", CF(redis.group), "tocsin", KF_NONEMPTY, NULL),
    KSTR("consumer", CF(redis.consumer), NULL, KF_NONEMPTY, NULL),
    KSTR("dead_suffix", CF(redis.dead_suffix), ":dead", KF_NONEMPTY, NULL),
    KSTR("prefix", CF(redis.prefix), "tocsin:", KF_NONEMPTY, NULL),
    KINT("batch", CF(redis.batch), 1, 100000, 1000),
    KINT("block_ms", CF(redis.block_ms), 10, 60000, 1000),
    KINT("claim_idle_ms", CF(redis.claim_idle_ms), 1000, 86400000, 60000),
    KINT("connect_timeout_ms", CF(redis.connect_timeout_ms), 100, 600000, 2000),
    KINT("checkpoint_ms", CF(redis.checkpoint_ms), 10, 60000, 1000),
    KINT("max_entry_bytes", CF(redis.max_entry_bytes), 256, 16777216, 65536),
    KINT("max_field_bytes", CF(redis.max_field_bytes), 16, 16777216, 16384),
};

static const struct key detection_keys[] = {
    KINT("bucket", CF(detection.bucket_s), 1, 86400, 60),
    KINT("lateness", CF(detection.lateness_s), 0, 86400, 30),
    KFLOAT("min_mentions", CF(detection.min_mentions), 0, 1e9, 10, 0),
    KFLOAT("min_ratio", CF(detection.min_ratio), 1, 1e6, 3.0, 0),
    KFLOAT("fire_score", CF(detection.fire_score), 0, 1, 0.9, KF_GT_MIN),
    KFLOAT("resolve_score", CF(detection.resolve_score), 0, 1, 0.5, 0),
    KINT("resolve_buckets", CF(detection.resolve_buckets), 1, 10000, 5),
    KINT("min_negative", CF(detection.min_negative), 0, 1000000000, 5),
    KFLOAT("negative_threshold", CF(detection.negative_threshold), -1, 1, -0.05,
           0),
    KINT("catchup_max_age", CF(detection.catchup_max_age_s), 0, 2592000, 900),
    KINT("warmup_buckets", CF(detection.warmup_buckets), 0, 100000, 30),
    KINT("max_topics", CF(detection.max_topics), 1, 100000000, 1000000),
    KFLOAT("sensitivity", CF(detection.sensitivity), 0, 1, 0.5, 0),
    KSTR("timezone", CF(detection.timezone), "UTC", KF_NONEMPTY, NULL),
    KINT("dedup_window", CF(detection.dedup_window_s), 0, 604800, 3600),
    {.name = "zones", .type = K_POST},
};

#define T(x) (1u << TOCSIN_RECEIVER_##x)
#define KRSTR(n, f, t)                                                         \
    {                                                                          \
        .name = n, .type = K_STR, .off = RF(f), .flags = KF_NONEMPTY,          \
        .types = t                                                             \
    }
#define KRFILE(n, f, t)                                                        \
    {                                                                          \
        .name = n, .type = K_FILE, .off = RF(f), .types = t                    \
    }
#define TOKEN_TYPES                                                            \
    (T(NTFY) | T(TELEGRAM) | T(PUSHOVER) | T(GOTIFY))

static const struct key receiver_keys[] = {
    KSTR("name", RF(name), NULL, KF_NONEMPTY | KF_REQUIRED, check_name),
    {.name = "type", .type = K_RTYPE, .off = RF(type)},
    KSTR("url", RF(url), NULL, KF_NONEMPTY, check_receiver_url),
    {.name = "secret",
     .type = K_STR,
     .off = RF(secret),
     .flags = KF_NONEMPTY,
     .types = T(WEBHOOK)},
    KRFILE("secret_file", secret, T(WEBHOOK)),
    {.name = "secret_credential",
     .type = K_CRED,
     .off = RF(secret),
     .types = T(WEBHOOK)},
    KRSTR("token", token, TOKEN_TYPES),
    KRFILE("token_file", token, TOKEN_TYPES),
    KRSTR("routing_key", token, T(PAGERDUTY)),
    KRFILE("routing_key_file", token, T(PAGERDUTY)),
    KRSTR("api_key", token, T(OPSGENIE)),
    KRFILE("api_key_file", token, T(OPSGENIE)),
    KRSTR("user", user, T(PUSHOVER) | T(NTFY) | T(EMAIL)),
    KRFILE("user_file", user, T(PUSHOVER) | T(EMAIL)),
    KRSTR("password", password, T(NTFY) | T(EMAIL)),
    KRFILE("password_file", password, T(NTFY) | T(EMAIL)),
    KRSTR("topic", topic, T(NTFY) | T(FCM) | T(APNS) | T(WEBPUSH)),
    KRSTR("chat_id", chat_id, T(TELEGRAM)),
    KRSTR("device", device, T(PUSHOVER) | T(FCM) | T(APNS)),
    KRSTR("from", from, T(EMAIL)),
    {.name = "to",
     .type = K_STRS,
     .off = RF(to),
     .noff = RF(nto),
     .types = T(EMAIL)},
    {.name = "starttls",
     .type = K_BOOL,
     .off = RF(starttls),
     .def = 1,
     .types = T(EMAIL)},
    KRFILE("service_account_file", key, T(FCM)),
    KRSTR("project_id", project_id, T(FCM)),
    {.name = "token_url",
     .type = K_STR,
     .off = RF(token_url),
     .flags = KF_NONEMPTY,
     .check = check_http_url,
     .types = T(FCM)},
    KRFILE("key_file", key, T(APNS)),
    KRSTR("key_id", key_id, T(APNS)),
    KRSTR("team_id", team_id, T(APNS)),
    KRSTR("sound", sound, T(APNS)),
    {.name = "critical",
     .type = K_BOOL,
     .off = RF(critical),
     .def = 0,
     .types = T(APNS)},
    KRFILE("vapid_key_file", key, T(WEBPUSH)),
    KRSTR("vapid_subject", subject, T(WEBPUSH)),
    KRSTR("p256dh", p256dh, T(WEBPUSH)),
    KRSTR("auth", auth, T(WEBPUSH)),
    KRFILE("auth_file", auth, T(WEBPUSH)),
    {.name = "ttl",
     .type = K_INT,
     .off = RF(ttl_s),
     .min = 0,
     .max = 2419200,
     .def = 86400,
     .types = T(FCM) | T(APNS) | T(WEBPUSH)},
    {.name = "ack_url",
     .type = K_STR,
     .off = RF(ack_url),
     .flags = KF_NONEMPTY,
     .check = check_http_url,
     .types = T(NTFY) | T(PUSHOVER)},
    KRSTR("source", source, T(PAGERDUTY) | T(OPSGENIE)),
    {.name = "priority_map",
     .type = K_PRIOMAP,
     .types = T(NTFY) | T(PUSHOVER) | T(GOTIFY) | T(OPSGENIE)},
    {.name = "retry",
     .type = K_INT,
     .off = RF(retry_s),
     .min = 30,
     .max = 10800,
     .def = 60,
     .types = T(PUSHOVER)},
    {.name = "expire",
     .type = K_INT,
     .off = RF(expire_s),
     .min = 30,
     .max = 10800,
     .def = 3600,
     .types = T(PUSHOVER)},
    {.name = "rate",
     .type = K_FLOAT,
     .off = RF(rate_per_s),
     .min = 0,
     .max = 100000,
     .flags = KF_GT_MIN},
    KINT("burst", RF(burst), 1, 100000, 0),
    KINT("down_after", RF(down_after), 1, 1000000, 5),
    KINT("timeout_ms", RF(timeout_ms), 100, 600000, 10000),
    KINT("backoff_min_ms", RF(backoff_min_ms), 10, 3600000, 1000),
    KINT("backoff_max_ms", RF(backoff_max_ms), 10, 86400000, 300000),
    KINT("give_up", RF(give_up_s), 60, 2592000, 86400),
    {.name = "send_resolved",
     .type = K_BOOL,
     .off = RF(send_resolved),
     .def = 1},
    KINT("max_concurrency", RF(max_concurrency), 1, 256, 4),
    KSTR("tls_ca_file", RF(tls_ca_file), NULL, KF_NONEMPTY | KF_PATH,
         check_ca_file),
    KSTR("tls_client_cert", RF(tls_client_cert), NULL, KF_NONEMPTY | KF_PATH,
         check_client_cert),
    KSTR("tls_client_key", RF(tls_client_key), NULL, KF_NONEMPTY | KF_PATH,
         check_client_key),
};

static const struct key alerts_keys[] = {
    KSTR("external_url", CF(alerts.external_url), NULL, KF_NONEMPTY,
         check_http_url),
};

static const struct key log_keys[] = {
    {.name = "level",
     .type = K_LEVEL,
     .off = CF(log.level),
     .def = TOCSIN_LOG_INFO},
};

static const struct key publish_keys[] = {
    KSTR("listen", CF(publish.listen), "ipc:///run/tocsin/alerts.sock",
         KF_NONEMPTY, check_nn_addr),
};

static const struct key control_keys[] = {
    KSTR("listen", CF(control.listen), "ipc:///run/tocsin/control.sock",
         KF_NONEMPTY, check_nn_addr),
    {.name = "remote", .type = K_BOOL, .off = CF(control.remote), .def = 0},
};

static const struct key http_keys[] = {
    KSTR("listen", CF(http.listen), "127.0.0.1:9797", KF_NONEMPTY,
         check_hostport),
};

static const struct key sentiment_keys[] = {
    KSTR("lexicons", CF(sentiment.lexicons), TOCSIN_DATADIR "/lexicons",
         KF_NONEMPTY | KF_PATH, NULL),
};

#define NKEYS(t) (sizeof(t) / sizeof((t)[0]))
#define KGROUP(n, t, p)                                                        \
    {                                                                          \
        .name = n, .type = K_GROUP, .sub = t, .nsub = NKEYS(t), .post = p      \
    }

static const struct key root_keys[] = {
    KGROUP("redis", redis_keys, post_redis),
    KGROUP("detection", detection_keys, post_detection),
    {.name = "receivers", .type = K_RECEIVERS},
    KGROUP("alerts", alerts_keys, NULL),
    KGROUP("log", log_keys, NULL),
    KGROUP("publish", publish_keys, NULL),
    KGROUP("control", control_keys, post_control),
    KGROUP("http", http_keys, NULL),
    KGROUP("sentiment", sentiment_keys, NULL),
    /* Issue 6, parsed by config_oncall.c once the receivers are known. */
    {.name = "oncall", .type = K_ONCALL},
    {.name = "time_intervals", .type = K_ONCALL},
    {.name = "people", .type = K_ONCALL},
    {.name = "schedules", .type = K_ONCALL},
    {.name = "escalation_policies", .type = K_ONCALL},
    {.name = "route", .type = K_ONCALL},
    {.name = "inhibit_rules", .type = K_ONCALL},
};

/* ---- field access ---- */

static int *
f_int(void *base, const struct key *k)
{
    return (int *)(void *)((char *)base + k->off);
}

static double *
f_double(void *base, const struct key *k)
{
    return (double *)(void *)((char *)base + k->off);
}

static char **
f_str(void *base, const struct key *k)
{
    return (char **)(void *)((char *)base + k->off);
}

static void
wipe_free(char *s)
{
    if (s) {
        explicit_bzero(s, strlen(s));
        free(s);
    }
}

/* Replace a string field, taking ownership of v. */
static void
set_str(void *base, const struct key *k, char *v)
{
    char **f = f_str(base, k);
    wipe_free(*f);
    *f = v;
}

static void
set_defaults(struct ctx *c, const struct key *keys, size_t n, void *base)
{
    for (size_t i = 0; i < n; i++) {
        const struct key *k = &keys[i];
        switch (k->type) {
        case K_INT:
        case K_BOOL:
            *f_int(base, k) = (int)k->def;
            break;
        case K_FLOAT:
            *f_double(base, k) = k->def;
            break;
        case K_STR:
            if (k->defstr)
                *f_str(base, k) = xstrdup(c, k->defstr);
            break;
        case K_STRS:
            if (k->defstr) {
                char **v = calloc(1, sizeof *v);
                if (!v) {
                    c->oom = 1;
                    break;
                }
                v[0] = xstrdup(c, k->defstr);
                *(char ***)(void *)((char *)base + k->off) = v;
                *(size_t *)(void *)((char *)base + k->noff) = 1;
            }
            break;
        case K_LEVEL:
            *(enum tocsin_log_level *)(void *)((char *)base + k->off) =
                (enum tocsin_log_level)k->def;
            break;
        case K_RTYPE:
            *(enum tocsin_receiver_type *)(void *)((char *)base + k->off) =
                TOCSIN_RECEIVER_WEBHOOK;
            break;
        case K_GROUP:
            set_defaults(c, k->sub, k->nsub, base);
            break;
        case K_FILE:
        case K_CRED:
        case K_RECEIVERS:
        case K_PRIOMAP:
        case K_ONCALL:
        case K_POST:
            break;
        }
    }
}

/* dir + "/" + path unless path is absolute. */
static char *
resolve_path(struct ctx *c, const char *path)
{
    if (path[0] == '/')
        return xstrdup(c, path);
    size_t n = strlen(c->dir) + strlen(path) + 2;
    char *p = malloc(n);
    if (!p) {
        c->oom = 1;
        return NULL;
    }
    size_t dl = strlen(c->dir);
    snprintf(p, n, "%s%s%s", c->dir, dl && c->dir[dl - 1] == '/' ? "" : "/",
             path);
    return p;
}

/* Read a secret from file; strips one trailing newline. */
static char *
read_secret(struct ctx *c, const config_setting_t *s, const char *path,
            const char *file, const char *what)
{
    char fs[CONFIG_SHOWN_MAX + 8];
    char *buf = NULL;
    int fd = open(file, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        cerr(c, s, "%s: cannot read %s \"%s\": %s", path, what,
             shown(file, fs, sizeof fs), strerror(errno));
        return NULL;
    }
    buf = malloc(CONFIG_MAX_SECRET_BYTES + 2);
    if (!buf) {
        c->oom = 1;
        close(fd);
        return NULL;
    }
    size_t len = 0;
    for (;;) {
        ssize_t r = read(fd, buf + len, CONFIG_MAX_SECRET_BYTES + 1 - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            cerr(c, s, "%s: cannot read %s \"%s\": %s", path, what,
                 shown(file, fs, sizeof fs), strerror(errno));
            goto fail;
        }
        if (r == 0)
            break;
        len += (size_t)r;
        if (len > CONFIG_MAX_SECRET_BYTES) {
            cerr(c, s, "%s: %s \"%s\" is larger than %d bytes", path, what,
                 shown(file, fs, sizeof fs), CONFIG_MAX_SECRET_BYTES);
            goto fail;
        }
    }
    close(fd);
    fd = -1;
    if (len && buf[len - 1] == '\n') {
        len--;
        if (len && buf[len - 1] == '\r')
            len--;
    }
    buf[len] = '\0';
    if (len == 0 || memchr(buf, '\0', len)) {
        cerr(c, s, "%s: %s \"%s\" %s", path, what, shown(file, fs, sizeof fs),
             len ? "contains a NUL byte" : "is empty");
        goto fail;
    }
    return buf;
fail:
    if (fd >= 0)
        close(fd);
    explicit_bzero(buf, CONFIG_MAX_SECRET_BYTES + 2);
    free(buf);
    return NULL;
}

/* ---- validators: return 0 if v is acceptable, else report and -1 ---- */

static int
check_redis_url(struct ctx *c, const config_setting_t *s, const char *path,
                const char *v)
{
    struct tocsin_redis_addr a;
    if (tocsin_redis_parse_url(v, &a) == TOCSIN_OK) {
        explicit_bzero(&a, sizeof a);
        return 0;
    }
    char red[512], sh[CONFIG_SHOWN_MAX + 8];
    tocsin_log_redact_url(v, red, sizeof red);
    cerr(c, s,
         "%s: cannot parse \"%s\" (expected redis://[[USER]:PASSWORD@]HOST"
         "[:PORT][/DB] or unix:///PATH[?db=DB])",
         path, shown(red, sh, sizeof sh));
    return -1;
}

/* A PEM password callback that never asks (an encrypted key is refused
 * rather than prompted for on the terminal). */
static int
pem_no_password(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return -1;
}

/*
 * The PEM file v (relative to the config file's directory, as stored) is
 * readable and holds at least one certificate (what = "CA file",
 * "certificate") or, when key, an unencrypted private key.
 */
static int
check_pem_file(struct ctx *c, const config_setting_t *s, const char *path,
               const char *v, const char *what, int key)
{
    char fs[CONFIG_SHOWN_MAX + 8];
    char *file = resolve_path(c, v);
    if (!file)
        return -1;
    int ok = -1;
    FILE *f = fopen(file, "re");
    if (!f) {
        cerr(c, s, "%s: cannot read %s \"%s\": %s", path, what,
             shown(file, fs, sizeof fs), strerror(errno));
        goto out;
    }
    size_t n = 0;
    if (key) {
        EVP_PKEY *k = PEM_read_PrivateKey(f, NULL, pem_no_password, NULL);
        n = k != NULL;
        EVP_PKEY_free(k);
    } else {
        X509 *x;
        while ((x = PEM_read_X509(f, NULL, NULL, NULL)) != NULL) {
            X509_free(x);
            n++;
        }
    }
    ERR_clear_error(); /* the end of the file, or a broken block */
    if (ferror(f))
        cerr(c, s, "%s: cannot read %s \"%s\": %s", path, what,
             shown(file, fs, sizeof fs), strerror(errno));
    else if (n == 0 && key)
        cerr(c, s,
             "%s: %s \"%s\" holds no unencrypted PEM private key", path,
             what, shown(file, fs, sizeof fs));
    else if (n == 0)
        cerr(c, s,
             "%s: %s \"%s\" holds no PEM certificate (\"-----BEGIN "
             "CERTIFICATE-----\")",
             path, what, shown(file, fs, sizeof fs));
    else
        ok = 0;
    fclose(f);
out:
    free(file);
    return ok;
}

static int
check_ca_file(struct ctx *c, const config_setting_t *s, const char *path,
              const char *v)
{
    return check_pem_file(c, s, path, v, "CA file", 0);
}

static int
check_client_cert(struct ctx *c, const config_setting_t *s, const char *path,
                  const char *v)
{
    return check_pem_file(c, s, path, v, "certificate", 0);
}

static int
check_client_key(struct ctx *c, const config_setting_t *s, const char *path,
                 const char *v)
{
    return check_pem_file(c, s, path, v, "key", 1);
}

/* tls_client_cert and tls_client_key go together, and match. */
static void
check_client_pair(struct ctx *c, const config_setting_t *g, const char *path,
                  const struct tocsin_receiver_config *r)
{
    const config_setting_t *cs = config_setting_get_member(g,
                                                           "tls_client_cert");
    const config_setting_t *ks = config_setting_get_member(g,
                                                           "tls_client_key");
    if ((cs && reported(c, cs)) || (ks && reported(c, ks)))
        return;
    if (!r->tls_client_cert != !r->tls_client_key) {
        cerr(c, cs ? cs : ks, "%s: tls_client_cert and tls_client_key go "
             "together", path);
        return;
    }
    if (!r->tls_client_cert)
        return;
    FILE *cf = fopen(r->tls_client_cert, "re");
    FILE *kf = fopen(r->tls_client_key, "re");
    X509 *x = cf ? PEM_read_X509(cf, NULL, NULL, NULL) : NULL;
    EVP_PKEY *k = kf ? PEM_read_PrivateKey(kf, NULL, pem_no_password, NULL)
                     : NULL;
    if (x && k && X509_check_private_key(x, k) != 1)
        cerr(c, ks, "%s.tls_client_key: not the key of tls_client_cert",
             path);
    ERR_clear_error();
    X509_free(x);
    EVP_PKEY_free(k);
    if (cf)
        fclose(cf);
    if (kf)
        fclose(kf);
}

static int
check_http_url(struct ctx *c, const config_setting_t *s, const char *path,
               const char *v)
{
    const char *rest = NULL;
    if (strncasecmp(v, "http://", 7) == 0)
        rest = v + 7;
    else if (strncasecmp(v, "https://", 8) == 0)
        rest = v + 8;
    if (rest && *rest && *rest != '/' && *rest != '?' && *rest != '#' &&
        !strpbrk(v, " \t\r\n"))
        return 0;
    char red[512], sh[CONFIG_SHOWN_MAX + 8];
    tocsin_log_redact_url(v, red, sizeof red);
    cerr(c, s, "%s: \"%s\" is not an http:// or https:// URL", path,
         shown(red, sh, sizeof sh));
    return -1;
}

/* "HOST:PORT", "[V6]:PORT" or "*:PORT" with PORT 1..65535 (n bytes). */
static int
valid_hostport(const char *v, size_t n)
{
    const char *colon;
    const char *end = v + n;
    if (n && v[0] == '[') {
        const char *rb = memchr(v, ']', n);
        if (!rb || rb == v + 1 || rb + 1 >= end || rb[1] != ':')
            return 0;
        colon = rb + 1;
    } else {
        colon = NULL;
        for (const char *p = v; p < end; p++)
            if (*p == ':')
                colon = p;
        if (!colon || colon == v || memchr(v, ':', (size_t)(colon - v)))
            return 0;
    }
    char port[8];
    size_t pn = (size_t)(end - colon - 1);
    if (pn == 0 || pn >= sizeof port)
        return 0;
    memcpy(port, colon + 1, pn);
    port[pn] = '\0';
    if (!isdigit((unsigned char)port[0]))
        return 0;
    char *e;
    errno = 0;
    long p = strtol(port, &e, 10);
    return !*e && errno == 0 && p >= 1 && p <= 65535;
}

static int
check_hostport(struct ctx *c, const config_setting_t *s, const char *path,
               const char *v)
{
    if (valid_hostport(v, strlen(v)))
        return 0;
    char sh[CONFIG_SHOWN_MAX + 8];
    cerr(c, s, "%s: cannot parse \"%s\" (expected HOST:PORT)", path,
         shown(v, sh, sizeof sh));
    return -1;
}

static int
check_nn_addr(struct ctx *c, const config_setting_t *s, const char *path,
              const char *v)
{
    int ok = 0;
    if (strncmp(v, "ipc://", 6) == 0)
        ok = v[6] != '\0';
    else if (strncmp(v, "inproc://", 9) == 0)
        ok = v[9] != '\0';
    else if (strncmp(v, "tcp://", 6) == 0)
        ok = valid_hostport(v + 6, strlen(v + 6));
    else if (strncmp(v, "ws://", 5) == 0)
        ok = valid_hostport(v + 5, strcspn(v + 5, "/"));
    if (ok)
        return 0;
    char sh[CONFIG_SHOWN_MAX + 8];
    cerr(c, s,
         "%s: cannot parse \"%s\" (expected ipc://PATH, tcp://HOST:PORT, "
         "ws://HOST:PORT[/PATH] or inproc://NAME)",
         path, shown(v, sh, sizeof sh));
    return -1;
}

static int
check_name(struct ctx *c, const config_setting_t *s, const char *path,
           const char *v)
{
    if (strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                  "0123456789_.-") == strlen(v))
        return 0;
    char sh[CONFIG_SHOWN_MAX + 8];
    cerr(c, s, "%s: \"%s\" may contain only letters, digits, '_', '.' and '-'",
         path, shown(v, sh, sizeof sh));
    return -1;
}

/* A receiver's url: http(s)://, or an Apprise-style URL. */
static int
check_receiver_url(struct ctx *c, const config_setting_t *s, const char *path,
                   const char *v)
{
    if (strncasecmp(v, "smtp://", 7) == 0 ||
        strncasecmp(v, "smtps://", 8) == 0) {
        const char *h = v + (v[4] == ':' ? 7 : 8);
        if (*h && *h != '/' && !strpbrk(v, " \t\r\n"))
            return 0; /* the type must be email: post_receiver */
    }
    if (!tocsin_apprise_scheme(v))
        return check_http_url(c, s, path, v);
    struct tocsin_apprise a;
    char why[160], red[512], sh[CONFIG_SHOWN_MAX + 8];
    tocsin_err e = tocsin_apprise_parse(v, &a, why, sizeof why);
    if (e == TOCSIN_OK) {
        tocsin_apprise_fini(&a);
        return 0;
    }
    if (e == TOCSIN_ENOMEM) {
        c->oom = 1;
        return -1;
    }
    struct tocsin_receiver_config fake = {.type = TOCSIN_RECEIVER_SLACK};
    tocsin_receiver_redact(&fake, v, red, sizeof red);
    cerr(c, s, "%s: cannot parse \"%s\": %s", path, shown(red, sh, sizeof sh),
         why);
    return -1;
}

/* ---- values ---- */

static void
type_error(struct ctx *c, const config_setting_t *s, const char *path,
           const char *want)
{
    cerr(c, s, "%s: expected %s, got %s", path, want,
         type_name(config_setting_type(s)));
}

static int
get_number(struct ctx *c, const config_setting_t *s, const char *path,
           int want_int, double *out)
{
    int t = config_setting_type(s);
    long long iv;
    if (t == CONFIG_TYPE_INT) {
        switch (wrapped_value(c, s, &iv)) {
        case 0:
            iv = config_setting_get_int(s);
            break;
        case 1:
            break;
        default:
            cerr(c, s, "%s: integer out of range", path);
            return -1;
        }
        *out = (double)iv;
        return 0;
    }
    if (t == CONFIG_TYPE_INT64) {
        *out = (double)config_setting_get_int64(s);
        return 0;
    }
    if (t == CONFIG_TYPE_FLOAT && !want_int) {
        *out = config_setting_get_float(s);
        return 0;
    }
    type_error(c, s, path, want_int ? "an integer" : "a number");
    return -1;
}

static int
check_range(struct ctx *c, const config_setting_t *s, const char *path,
            const struct key *k, double v)
{
    int isint = k->type == K_INT;
    if ((k->flags & KF_GT_MIN) ? !(v > k->min) : !(v >= k->min)) {
        if (isint)
            cerr(c, s, "%s: %.0f is below the minimum %.0f", path, v, k->min);
        else if (k->flags & KF_GT_MIN)
            cerr(c, s, "%s: %g must be greater than %g", path, v, k->min);
        else
            cerr(c, s, "%s: %g is below the minimum %g", path, v, k->min);
        return -1;
    }
    if (!(v <= k->max)) {
        if (isint)
            cerr(c, s, "%s: %.0f is above the maximum %.0f", path, v, k->max);
        else
            cerr(c, s, "%s: %g is above the maximum %g", path, v, k->max);
        return -1;
    }
    return 0;
}

/* The string value of s after type and emptiness checks, or NULL. */
static const char *
get_string(struct ctx *c, const config_setting_t *s, const char *path,
           const struct key *k)
{
    if (config_setting_type(s) != CONFIG_TYPE_STRING) {
        type_error(c, s, path, "a string");
        return NULL;
    }
    const char *v = config_setting_get_string(s);
    if (!v || ((k->flags & KF_NONEMPTY) && !*v)) {
        cerr(c, s, "%s: must not be empty", path);
        return NULL;
    }
    return v;
}

static void
parse_streams(struct ctx *c, const config_setting_t *s, const char *path,
              const struct key *k, void *base)
{
    char ***fv = (char ***)(void *)((char *)base + k->off);
    size_t *fn = (size_t *)(void *)((char *)base + k->noff);
    int t = config_setting_type(s);
    size_t n = 1;
    if (t == CONFIG_TYPE_ARRAY || t == CONFIG_TYPE_LIST) {
        n = (size_t)config_setting_length(s);
        if (n == 0) {
            cerr(c, s, "%s: at least one %s is required", path,
                 strcmp(k->name, "to") == 0       ? "recipient"
                 : strcmp(k->name, "topics") == 0 ? "topic pattern"
                                                  : "stream");
            return;
        }
    } else if (t != CONFIG_TYPE_STRING) {
        type_error(c, s, path, "a string or an array of strings");
        return;
    }
    char **v = calloc(n, sizeof *v);
    if (!v) {
        c->oom = 1;
        return;
    }
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        const config_setting_t *e =
            t == CONFIG_TYPE_STRING ? s : config_setting_get_elem(s, (int)i);
        char epath[340];
        if (t == CONFIG_TYPE_STRING)
            snprintf(epath, sizeof epath, "%s", path);
        else
            snprintf(epath, sizeof epath, "%s[%zu]", path, i);
        const char *str = get_string(c, e, epath, k);
        if (!str) {
            bad = 1;
            continue;
        }
        int dup = 0;
        for (size_t j = 0; j < i; j++)
            dup |= v[j] && strcmp(v[j], str) == 0;
        if (dup) {
            char sh[CONFIG_SHOWN_MAX + 8];
            cerr(c, e, "%s: duplicate %s \"%s\"", epath,
                 strcmp(k->name, "to") == 0 ? "recipient" : "stream",
                 shown(str, sh, sizeof sh));
            bad = 1;
            continue;
        }
        v[i] = xstrdup(c, str);
    }
    char **old = *fv;
    size_t oldn = *fn;
    if (bad) {
        old = v;
        oldn = n;
    } else {
        *fv = v;
        *fn = n;
    }
    for (size_t i = 0; i < oldn; i++)
        free(old[i]);
    free(old);
}

static void parse_group(struct ctx *c, const config_setting_t *g,
                        const char *gpath, const struct key *keys, size_t n,
                        void *base);
static void parse_priomap(struct ctx *c, const config_setting_t *s,
                          const char *path, void *base);
static void parse_receivers(struct ctx *c, const config_setting_t *s,
                            struct tocsin_config *cfg);

static void
parse_value(struct ctx *c, const config_setting_t *s, const char *path,
            const struct key *k, void *base)
{
    const char *str;
    double num;
    char sh[CONFIG_SHOWN_MAX + 8];
    switch (k->type) {
    case K_INT:
    case K_FLOAT:
        if (get_number(c, s, path, k->type == K_INT, &num) ||
            check_range(c, s, path, k, num))
            return;
        if (k->type == K_INT)
            *f_int(base, k) = (int)num;
        else
            *f_double(base, k) = num;
        return;
    case K_BOOL:
        if (config_setting_type(s) != CONFIG_TYPE_BOOL) {
            type_error(c, s, path, "a boolean (true or false)");
            return;
        }
        *f_int(base, k) = config_setting_get_bool(s) ? 1 : 0;
        return;
    case K_STR:
        if (!(str = get_string(c, s, path, k)))
            return;
        if (k->check && k->check(c, s, path, str))
            return;
        set_str(base, k,
                (k->flags & KF_PATH) ? resolve_path(c, str) : xstrdup(c, str));
        return;
    case K_STRS:
        parse_streams(c, s, path, k, base);
        return;
    case K_FILE: {
        if (!(str = get_string(c, s, path, k)))
            return;
        if (!*str) {
            cerr(c, s, "%s: must not be empty", path);
            return;
        }
        char *file = resolve_path(c, str);
        if (!file)
            return;
        char *secret = read_secret(c, s, path, file, "file");
        free(file);
        if (secret)
            set_str(base, k, secret);
        return;
    }
    case K_CRED: {
        if (!(str = get_string(c, s, path, k)))
            return;
        if (!*str || strchr(str, '/') || strcmp(str, ".") == 0 ||
            strcmp(str, "..") == 0) {
            cerr(c, s, "%s: \"%s\" is not a credential name", path,
                 shown(str, sh, sizeof sh));
            return;
        }
        const char *dir = getenv("CREDENTIALS_DIRECTORY");
        if (!dir || !*dir) {
            cerr(c, s, "%s: $CREDENTIALS_DIRECTORY is not set", path);
            return;
        }
        size_t n = strlen(dir) + strlen(str) + 2;
        char *file = malloc(n);
        if (!file) {
            c->oom = 1;
            return;
        }
        snprintf(file, n, "%s/%s", dir, str);
        char *secret = read_secret(c, s, path, file, "credential");
        free(file);
        if (secret)
            set_str(base, k, secret);
        return;
    }
    case K_LEVEL: {
        enum tocsin_log_level lv;
        if (!(str = get_string(c, s, path, k)))
            return;
        if (tocsin_log_parse_level(str, &lv) != 0) {
            cerr(c, s,
                 "%s: unknown level \"%s\" (known: error, warning, notice, "
                 "info, debug)",
                 path, shown(str, sh, sizeof sh));
            return;
        }
        *(enum tocsin_log_level *)(void *)((char *)base + k->off) = lv;
        return;
    }
    case K_RTYPE: {
        enum tocsin_receiver_type rt;
        if (!(str = get_string(c, s, path, k)))
            return;
        if (tocsin_receiver_type_parse(str, &rt) != 0) {
            const char *best = NULL;
            for (unsigned t = 0; t < TOCSIN_RECEIVER_NTYPES; t++) {
                const char *tn =
                    tocsin_receiver_type_name((enum tocsin_receiver_type)t);
                if (edit_distance(str, tn) <= 2)
                    best = tn;
            }
            if (best)
                cerr(c, s,
                     "%s: unknown receiver type \"%s\" (did you mean "
                     "\"%s\"?)",
                     path, shown(str, sh, sizeof sh), best);
            else
                cerr(c, s, "%s: unknown receiver type \"%s\" (known: %s)",
                     path, shown(str, sh, sizeof sh),
                     tocsin_receiver_type_list());
            return;
        }
        *(enum tocsin_receiver_type *)(void *)((char *)base + k->off) = rt;
        return;
    }
    case K_PRIOMAP:
        parse_priomap(c, s, path, base);
        return;
    case K_GROUP: {
        if (!config_setting_is_group(s)) {
            type_error(c, s, path, "a group");
            return;
        }
        parse_group(c, s, path, k->sub, k->nsub, base);
        if (k->post)
            k->post(c, s, base);
        return;
    }
    case K_RECEIVERS:
        parse_receivers(c, s, base);
        return;
    case K_ONCALL:
    case K_POST:
        return;
    }
}

/* priority_map = { critical = 5; warning = 4; ... } */
static void
parse_priomap(struct ctx *c, const config_setting_t *s, const char *path,
              void *base)
{
    static const char *const slots[TOCSIN_PRIO_NSLOTS] = {
        "critical", "error", "warning", "info", "resolved"};
    struct tocsin_receiver_config *r = base;
    if (!config_setting_is_group(s)) {
        type_error(c, s, path, "a group");
        return;
    }
    int len = config_setting_length(s);
    for (int i = 0; i < len; i++) {
        const config_setting_t *m = config_setting_get_elem(s, i);
        const char *name = config_setting_name(m);
        char mpath[340];
        snprintf(mpath, sizeof mpath, "%s.%s", path, name ? name : "?");
        size_t k;
        for (k = 0; k < TOCSIN_PRIO_NSLOTS; k++)
            if (name && strcmp(name, slots[k]) == 0)
                break;
        if (k == TOCSIN_PRIO_NSLOTS) {
            char sh[CONFIG_SHOWN_MAX + 8];
            cerr(c, m,
                 "%s: unknown severity \"%s\" (known: critical, error, "
                 "warning, info, resolved)",
                 path, shown(name ? name : "?", sh, sizeof sh));
            continue;
        }
        double v;
        if (get_number(c, m, mpath, 1, &v))
            continue;
        r->priority[k] = (int)v;
        r->priority_set |= 1u << k;
    }
}

static void
unknown_key(struct ctx *c, const config_setting_t *s, const char *gpath,
            const struct key *keys, size_t n)
{
    const char *name = config_setting_name(s);
    const char *best = NULL;
    size_t bestd = (size_t)-1;
    size_t len = strlen(name);
    for (size_t i = 0; i < n; i++) {
        size_t d = edit_distance(name, keys[i].name);
        if (d < bestd) {
            bestd = d;
            best = keys[i].name;
        }
    }
    char sh[CONFIG_SHOWN_MAX + 8];
    char prefix[300] = "";
    if (*gpath)
        snprintf(prefix, sizeof prefix, "%s: ", gpath);
    if (best && bestd < len && (bestd <= 2 || bestd * 3 <= strlen(best)))
        cerr(c, s, "%sunknown key \"%s\" (did you mean \"%s\"?)", prefix,
             shown(name, sh, sizeof sh), best);
    else
        cerr(c, s, "%sunknown key \"%s\"", prefix, shown(name, sh, sizeof sh));
}

static void
parse_group(struct ctx *c, const config_setting_t *g, const char *gpath,
            const struct key *keys, size_t n, void *base)
{
    unsigned long long seen = 0;
    int len = config_setting_length(g);
    for (int i = 0; i < len; i++) {
        const config_setting_t *m = config_setting_get_elem(g, i);
        const char *name = config_setting_name(m);
        size_t k;
        for (k = 0; k < n; k++)
            if (name && strcmp(name, keys[k].name) == 0)
                break;
        if (k == n) {
            unknown_key(c, m, gpath, keys, n);
            continue;
        }
        seen |= 1ull << k;
        char path[300];
        snprintf(path, sizeof path, "%s%s%s", gpath, *gpath ? "." : "", name);
        parse_value(c, m, path, &keys[k], base);
    }
    for (size_t k = 0; k < n; k++)
        if ((keys[k].flags & KF_REQUIRED) && !(seen & (1ull << k)))
            cerr(c, g, "%s: missing required key \"%s\"", gpath, keys[k].name);
}

/* Report every secret source after the first one given in g. */
static int
secret_conflicts(struct ctx *c, const config_setting_t *g, const char *gpath,
                 const char *const *names, const char *list, int given)
{
    for (const char *const *p = names; *p; p++) {
        const config_setting_t *s = config_setting_get_member(g, *p);
        if (!s)
            continue;
        if (given++)
            cerr(c, s, "%s.%s: only one of %s may be given", gpath, *p, list);
    }
    return given;
}

static void
post_redis(struct ctx *c, const config_setting_t *g, struct tocsin_config *cfg)
{
    static const char *const names[] = {"password", "password_file", NULL};
    struct tocsin_redis_addr a;
    int url_pw = 0;
    if (cfg->redis.url &&
        tocsin_redis_parse_url(cfg->redis.url, &a) == TOCSIN_OK) {
        url_pw = a.password[0] != '\0';
        if (url_pw && !cfg->redis.password)
            cfg->redis.password = xstrdup(c, a.password);
        explicit_bzero(&a, sizeof a);
    }
    secret_conflicts(c, g, "redis", names,
                     "a password in url, password and password_file", url_pw);
    /* Compare only values that were given and valid (or defaults). */
    const config_setting_t *mf = good_member(c, g, "max_field_bytes");
    const config_setting_t *me =
        config_setting_get_member(g, "max_entry_bytes");
    if (mf && !(me && reported(c, me)) &&
        cfg->redis.max_field_bytes > cfg->redis.max_entry_bytes)
        cerr(c, mf,
             "redis.max_field_bytes: %d is above "
             "redis.max_entry_bytes (%d)",
             cfg->redis.max_field_bytes, cfg->redis.max_entry_bytes);
}

/* detection.zones = ( { timezone = "..."; topics = [patterns]; }, ... ) */
struct zone_entry {
    char *timezone;
    char **topics;
    size_t ntopics;
};

#define ZF(f) offsetof(struct zone_entry, f)
static const struct key zone_keys[] = {
    KSTR("timezone", ZF(timezone), NULL, KF_NONEMPTY | KF_REQUIRED, NULL),
    {.name = "topics",
     .type = K_STRS,
     .off = ZF(topics),
     .noff = ZF(ntopics),
     .flags = KF_NONEMPTY | KF_REQUIRED},
};

/* Load zone name for setting s into *out (NULL for UTC); 0 or -1
 * (reported). */
static int
load_zone(struct ctx *c, const config_setting_t *s, const char *path,
          const char *name, struct tocsin_tz **out)
{
    *out = NULL;
    if (!strcmp(name, "UTC") || !strcmp(name, "Etc/UTC"))
        return 0;
    tocsin_err zr = tocsin_tz_load(out, name);
    if (zr == TOCSIN_OK)
        return 0;
    char sh[CONFIG_SHOWN_MAX + 8];
    if (zr == TOCSIN_ENOMEM)
        tocsin_config_int_oom(c);
    else
        cerr(c, s,
             "%s: unknown time zone \"%s\" (a name of the TZ database, "
             "e.g. \"Europe/Paris\")",
             path, shown(name, sh, sizeof sh));
    return -1;
}

static void
parse_zones(struct ctx *c, const config_setting_t *s, struct tocsin_config *cfg)
{
    int t = config_setting_type(s);
    if (t != CONFIG_TYPE_LIST &&
        !(t == CONFIG_TYPE_ARRAY && config_setting_length(s) == 0)) {
        type_error(c, s, "detection.zones", "a list");
        return;
    }
    size_t n = (size_t)config_setting_length(s);
    if (n > 255) {
        cerr(c, s, "detection.zones: %zu entries, at most 255", n);
        return;
    }
    if (n == 0)
        return;
    cfg->detection.zones = calloc(n, sizeof *cfg->detection.zones);
    if (!cfg->detection.zones) {
        tocsin_config_int_oom(c);
        return;
    }
    cfg->detection.nzones = n;
    for (size_t i = 0; i < n; i++) {
        const config_setting_t *e = config_setting_get_elem(s, (int)i);
        char path[64];
        snprintf(path, sizeof path, "detection.zones[%zu]", i);
        if (!config_setting_is_group(e)) {
            type_error(c, e, path, "a group");
            continue;
        }
        struct zone_entry z = {0};
        parse_group(c, e, path, zone_keys, NKEYS(zone_keys), &z);
        struct tocsin_topic_zone *tz = &cfg->detection.zones[i];
        tz->patterns = z.topics;
        tz->npatterns = z.ntopics;
        if (z.timezone) {
            struct tocsin_tz *zone = NULL;
            char zpath[80];
            snprintf(zpath, sizeof zpath, "%s.timezone", path);
            if (!load_zone(c, config_setting_get_member(e, "timezone"), zpath,
                           z.timezone, &zone))
                tz->tz = zone;
        }
        free(z.timezone);
    }
}

static void
post_detection(struct ctx *c, const config_setting_t *g,
               struct tocsin_config *cfg)
{
    /* The zone is loaded here, at the edge: the detection core reads it
     * and never touches a file. */
    const config_setting_t *zs = config_setting_get_member(g, "timezone");
    const char *zn = cfg->detection.timezone;
    if (zn && !(zs && reported(c, zs)))
        load_zone(c, zs ? zs : g, "detection.timezone", zn,
                  &cfg->detection.tz);
    const config_setting_t *zl = config_setting_get_member(g, "zones");
    if (zl)
        parse_zones(c, zl, cfg);
    const config_setting_t *rs = config_setting_get_member(g, "resolve_score");
    const config_setting_t *fs = config_setting_get_member(g, "fire_score");
    if ((rs && reported(c, rs)) || (fs && reported(c, fs)) ||
        cfg->detection.resolve_score < cfg->detection.fire_score)
        return;
    const config_setting_t *s = rs ? rs : fs;
    cerr(c, s,
         "detection.resolve_score: %g must be below "
         "detection.fire_score (%g)",
         cfg->detection.resolve_score, cfg->detection.fire_score);
}

/* A control socket others can reach needs control.remote = true. */
static void
post_control(struct ctx *c, const config_setting_t *g,
             struct tocsin_config *cfg)
{
    const config_setting_t *ls = config_setting_get_member(g, "listen");
    const char *v = cfg->control.listen;
    if (!ls || reported(c, ls) || cfg->control.remote || !v ||
        strncmp(v, "ipc://", 6) == 0 || strncmp(v, "inproc://", 9) == 0)
        return;
    char sh[CONFIG_SHOWN_MAX + 8];
    cerr(c, ls,
         "control.listen: \"%s\" is not a local (ipc) socket; set "
         "control.remote = true to allow control from the network",
         shown(v, sh, sizeof sh));
}

/* Move an Apprise field into the receiver unless the key was given. */
static void
take_field(struct ctx *c, const config_setting_t *g, const char *path,
           const char *const *keys, char **field, char **from)
{
    if (!*from)
        return;
    for (const char *const *k = keys; *k; k++) {
        const config_setting_t *s = config_setting_get_member(g, *k);
        if (s) {
            cerr(c, s, "%s.%s: also given in url", path, *k);
            return;
        }
    }
    if (*field) {
        explicit_bzero(*field, strlen(*field));
        free(*field);
    }
    *field = *from;
    *from = NULL;
}

/* Split "a,b,c" into the receiver's recipients. */
static void
split_to(struct ctx *c, struct tocsin_receiver_config *r, const char *list)
{
    size_t n = 1;
    for (const char *p = list; *p; p++)
        n += *p == ',';
    char **v = calloc(n, sizeof *v);
    if (!v) {
        c->oom = 1;
        return;
    }
    size_t k = 0;
    for (const char *p = list; *p;) {
        size_t l = strcspn(p, ",");
        if (l) {
            v[k] = strndup(p, l);
            if (!v[k]) {
                c->oom = 1;
                break;
            }
            k++;
        }
        p += l + (p[l] == ',');
    }
    for (size_t i = 0; i < r->nto; i++)
        free(r->to[i]);
    free(r->to);
    r->to = v;
    r->nto = k;
}

/* A base64url value that decodes to want bytes (first byte first, if
 * first >= 0). */
static int
b64_len_ok(const char *v, size_t want, int first)
{
    unsigned char *b = NULL;
    size_t n = 0;
    if (tocsin_b64url_decode(v, &b, &n) != TOCSIN_OK)
        return 0;
    int ok = n == want && (first < 0 || b[0] == (unsigned char)first);
    explicit_bzero(b, n);
    free(b);
    return ok;
}

/* The url scheme, keys and key files the email and push types need. */
static void
check_push_keys(struct ctx *c, const config_setting_t *g, const char *path,
                struct tocsin_receiver_config *r)
{
    const config_setting_t *us = config_setting_get_member(g, "url");
    const config_setting_t *at = us ? us : g;
    int smtp = r->url && (strncasecmp(r->url, "smtp://", 7) == 0 ||
                          strncasecmp(r->url, "smtps://", 8) == 0);
    if (r->type == TOCSIN_RECEIVER_EMAIL && r->url && !smtp)
        cerr(c, at,
             "%s.url: an email receiver needs an smtp:// or smtps:// "
             "URL",
             path);
    else if (r->type != TOCSIN_RECEIVER_EMAIL && smtp)
        cerr(c, at, "%s.url: smtp URLs are for type email", path);
    const config_setting_t *s;
    switch (r->type) {
    case TOCSIN_RECEIVER_FCM: {
        s = config_setting_get_member(g, "service_account_file");
        json_error_t je;
        json_t *j = json_loads(r->key, 0, &je);
        const char *pk =
            j ? json_string_value(json_object_get(j, "private_key")) : NULL;
        const char *em =
            j ? json_string_value(json_object_get(j, "client_email")) : NULL;
        const char *pid =
            j ? json_string_value(json_object_get(j, "project_id")) : NULL;
        if (!j)
            cerr(c, s, "%s.service_account_file: not JSON: %s", path, je.text);
        else if (!pk || !em)
            cerr(c, s,
                 "%s.service_account_file: no private_key or "
                 "client_email (is it a service-account key?)",
                 path);
        else if (tocsin_jwt_key_check("RS256", pk) != TOCSIN_OK)
            cerr(c, s,
                 "%s.service_account_file: private_key is not an RSA "
                 "key of 2048 bits or more",
                 path);
        else if (!pid && !r->project_id)
            cerr(c, g,
                 "%s: missing required key \"project_id\" (the key "
                 "file has none)",
                 path);
        if (r->device && r->topic)
            cerr(c, g, "%s: device and topic are exclusive", path);
        json_decref(j);
        break;
    }
    case TOCSIN_RECEIVER_APNS:
        s = config_setting_get_member(g, "key_file");
        if (tocsin_jwt_key_check("ES256", r->key) != TOCSIN_OK)
            cerr(c, s,
                 "%s.key_file: not a P-256 private key in PEM (the "
                 ".p8 file Apple gives)",
                 path);
        break;
    case TOCSIN_RECEIVER_WEBPUSH:
        s = config_setting_get_member(g, "vapid_key_file");
        if (tocsin_jwt_key_check("ES256", r->key) != TOCSIN_OK)
            cerr(c, s, "%s.vapid_key_file: not a P-256 private key in PEM",
                 path);
        s = config_setting_get_member(g, "p256dh");
        if (!b64_len_ok(r->p256dh, 65, 4))
            cerr(c, s,
                 "%s.p256dh: not a base64url P-256 public key (65 "
                 "bytes)",
                 path);
        s = config_setting_get_member(g, "auth");
        if (!s)
            s = config_setting_get_member(g, "auth_file");
        if (!b64_len_ok(r->auth, 16, -1))
            cerr(c, s, "%s.auth: not a base64url 16-byte secret", path);
        s = config_setting_get_member(g, "vapid_subject");
        if (strncmp(r->subject, "mailto:", 7) != 0 &&
            strncmp(r->subject, "https://", 8) != 0)
            cerr(c, s,
                 "%s.vapid_subject: must start with mailto: or "
                 "https://",
                 path);
        break;
    default:
        break;
    }
}

/* Type-specific checks of one receiver, after its keys were parsed. */
static void
post_receiver(struct ctx *c, const config_setting_t *g, const char *path,
              struct tocsin_receiver_config *r)
{
    static const char *const tokens[] = {
        "token", "token_file", "routing_key", "routing_key_file", "api_key",
        "api_key_file", NULL};
    static const char *const users[] = {"user", "user_file", NULL};
    static const char *const passwords[] = {"password", "password_file",
                                            NULL};
    static const char *const none[] = {NULL};
    const config_setting_t *ts = config_setting_get_member(g, "type");
    const config_setting_t *us = config_setting_get_member(g, "url");
    if ((ts && reported(c, ts)) || (us && reported(c, us)))
        return;
    secret_conflicts(c, g, path, tokens, "token, routing_key and api_key "
                                         "(or their _file forms)", 0);
    secret_conflicts(c, g, path, users, "user and user_file", 0);
    secret_conflicts(c, g, path, passwords, "password and password_file", 0);
    static const char *const auths[] = {"auth", "auth_file", NULL};
    secret_conflicts(c, g, path, auths, "auth and auth_file", 0);
    if (r->url && tocsin_apprise_scheme(r->url)) {
        struct tocsin_apprise a;
        char why[160];
        tocsin_err e = tocsin_apprise_parse(r->url, &a, why, sizeof why);
        if (e != TOCSIN_OK) {
            c->oom |= e == TOCSIN_ENOMEM;
            return;
        }
        if (ts && r->type != a.type)
            cerr(c, us, "%s.url: a %s URL, but type is \"%s\"", path,
                 tocsin_receiver_type_name(a.type),
                 tocsin_receiver_type_name(r->type));
        r->type = a.type;
        take_field(c, g, path, none, &r->url, &a.url);
        take_field(c, g, path, tokens, &r->token, &a.token);
        take_field(c, g, path, users, &r->user, &a.user);
        take_field(c, g, path, passwords, &r->password, &a.password);
        static const char *const topic[] = {"topic", NULL};
        static const char *const chat[] = {"chat_id", NULL};
        static const char *const device[] = {"device", NULL};
        take_field(c, g, path, topic, &r->topic, &a.topic);
        take_field(c, g, path, chat, &r->chat_id, &a.chat_id);
        take_field(c, g, path, device, &r->device, &a.device);
        static const char *const from[] = {"from", NULL};
        take_field(c, g, path, from, &r->from, &a.from);
        if (a.to && !config_setting_get_member(g, "to"))
            split_to(c, r, a.to);
        else if (a.to)
            cerr(c, config_setting_get_member(g, "to"),
                 "%s.to: also given in url", path);
        tocsin_apprise_fini(&a);
    } else if (!ts) {
        cerr(c, g, "%s: missing required key \"type\"", path);
        return;
    }
    /* Keys that this type does not use. */
    const char *tname = tocsin_receiver_type_name(r->type);
    int len = config_setting_length(g);
    for (int i = 0; i < len; i++) {
        const config_setting_t *m = config_setting_get_elem(g, i);
        const char *name = config_setting_name(m);
        for (size_t k = 0; name && k < NKEYS(receiver_keys); k++)
            if (strcmp(name, receiver_keys[k].name) == 0 &&
                receiver_keys[k].types &&
                !(receiver_keys[k].types & (1u << r->type)))
                cerr(c, m, "%s.%s: not used by type %s", path, name, tname);
    }
    /* What each type needs. */
    const char *need = NULL;
    switch (r->type) {
    case TOCSIN_RECEIVER_NTFY:
        need = !r->topic ? "topic" : NULL;
        break;
    case TOCSIN_RECEIVER_PAGERDUTY:
        need = !r->token ? "routing_key" : NULL;
        break;
    case TOCSIN_RECEIVER_OPSGENIE:
        need = !r->token ? "api_key" : NULL;
        break;
    case TOCSIN_RECEIVER_TELEGRAM:
        need = !r->token ? "token" : !r->chat_id ? "chat_id" : NULL;
        break;
    case TOCSIN_RECEIVER_PUSHOVER:
        need = !r->token ? "token" : !r->user ? "user" : NULL;
        break;
    case TOCSIN_RECEIVER_GOTIFY:
        need = !r->url ? "url" : !r->token ? "token" : NULL;
        break;
    case TOCSIN_RECEIVER_EMAIL:
        need = !r->url ? "url" : !r->from ? "from" : !r->nto ? "to" : NULL;
        break;
    case TOCSIN_RECEIVER_FCM:
        need = !r->key                   ? "service_account_file"
               : !r->device && !r->topic ? "device"
                                         : NULL;
        break;
    case TOCSIN_RECEIVER_APNS:
        need = !r->key       ? "key_file"
               : !r->key_id  ? "key_id"
               : !r->team_id ? "team_id"
               : !r->topic   ? "topic"
               : !r->device  ? "device"
                             : NULL;
        break;
    case TOCSIN_RECEIVER_WEBPUSH:
        need = !r->url       ? "url"
               : !r->p256dh  ? "p256dh"
               : !r->auth    ? "auth"
               : !r->key     ? "vapid_key_file"
               : !r->subject ? "vapid_subject"
                             : NULL;
        break;
    default:
        need = !r->url ? "url" : NULL;
        break;
    }
    check_client_pair(c, g, path, r);
    if (need && !(strcmp(need, "url") == 0 && us))
        cerr(c, g, "%s: missing required key \"%s\"", path, need);
    else if (!need)
        check_push_keys(c, g, path, r);
    /* Priorities within the gateway's range. */
    int lo = 1, hi = 5;
    if (r->type == TOCSIN_RECEIVER_PUSHOVER) {
        lo = -2;
        hi = 2;
    } else if (r->type == TOCSIN_RECEIVER_GOTIFY) {
        lo = 0;
        hi = 10;
    }
    static const char *const slots[TOCSIN_PRIO_NSLOTS] = {
        "critical", "error", "warning", "info", "resolved"};
    const config_setting_t *pm = config_setting_get_member(g, "priority_map");
    for (int k = 0; pm && k < TOCSIN_PRIO_NSLOTS; k++) {
        const config_setting_t *ps = config_setting_get_member(pm, slots[k]);
        if ((r->priority_set & (1u << k)) &&
            (r->priority[k] < lo || r->priority[k] > hi))
            cerr(c, ps, "%s.priority_map.%s: %d is not a %s priority (%d to "
                 "%d)", path, slots[k], r->priority[k], tname, lo, hi);
    }
}

static void
parse_receivers(struct ctx *c, const config_setting_t *s,
                struct tocsin_config *cfg)
{
    static const char *const names[] = {"secret", "secret_file",
                                        "secret_credential", NULL};
    int t = config_setting_type(s);
    if (t != CONFIG_TYPE_LIST &&
        !(t == CONFIG_TYPE_ARRAY && config_setting_length(s) == 0)) {
        type_error(c, s, "receivers", "a list");
        return;
    }
    size_t n = (size_t)config_setting_length(s);
    if (n == 0)
        return;
    cfg->receivers = calloc(n, sizeof *cfg->receivers);
    if (!cfg->receivers) {
        c->oom = 1;
        return;
    }
    cfg->nreceivers = n;
    for (size_t i = 0; i < n; i++) {
        struct tocsin_receiver_config *r = &cfg->receivers[i];
        const config_setting_t *e = config_setting_get_elem(s, (int)i);
        char path[64];
        snprintf(path, sizeof path, "receivers[%zu]", i);
        set_defaults(c, receiver_keys, NKEYS(receiver_keys), r);
        if (!config_setting_is_group(e)) {
            type_error(c, e, path, "a group");
            continue;
        }
        parse_group(c, e, path, receiver_keys, NKEYS(receiver_keys), r);
        secret_conflicts(c, e, path, names,
                         "secret, secret_file and secret_credential", 0);
        post_receiver(c, e, path, r);
        const config_setting_t *bm = good_member(c, e, "backoff_max_ms");
        const config_setting_t *bn =
            config_setting_get_member(e, "backoff_min_ms");
        if (bm && !(bn && reported(c, bn)) &&
            r->backoff_max_ms < r->backoff_min_ms)
            cerr(c, bm, "%s.backoff_max_ms: %d is below %s.backoff_min_ms (%d)",
                 path, r->backoff_max_ms, path, r->backoff_min_ms);
        if (!r->name)
            continue;
        for (size_t j = 0; j < i; j++) {
            if (cfg->receivers[j].name &&
                strcmp(cfg->receivers[j].name, r->name) == 0) {
                char sh[CONFIG_SHOWN_MAX + 8];
                cerr(c, config_setting_get_member(e, "name"),
                     "%s.name: duplicate receiver name \"%s\"", path,
                     shown(r->name, sh, sizeof sh));
                break;
            }
        }
    }
}

/* ---- for config_oncall.c (config_int.h) ---- */

void
tocsin_config_int_error(struct ctx *c, const config_setting_t *s,
                        const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cerr(c, s, "%s", msg);
}

void
tocsin_config_int_oom(struct ctx *c)
{
    c->oom = 1;
}

char *
tocsin_config_int_secret_file(struct ctx *c, const config_setting_t *s,
                              const char *path, const char *file)
{
    char *full = resolve_path(c, file);
    char *v = full ? read_secret(c, s, path, full, "secret file") : NULL;
    free(full);
    return v;
}

/* ---- loading ---- */

static void
set_dynamic_defaults(struct ctx *c, struct tocsin_config *cfg)
{
    if (gethostname(c->hostname, sizeof c->hostname) != 0 || !c->hostname[0])
        snprintf(c->hostname, sizeof c->hostname, "localhost");
    c->hostname[sizeof c->hostname - 1] = '\0';
    cfg->redis.consumer = xstrdup(c, c->hostname);
    size_t n = strlen(c->hostname) + sizeof "http://:9797";
    cfg->alerts.external_url = malloc(n);
    if (!cfg->alerts.external_url) {
        c->oom = 1;
        return;
    }
    snprintf(cfg->alerts.external_url, n, "http://%s:9797", c->hostname);
}

static tocsin_err
load_text(struct tocsin_config **out, const char *text, const char *name,
          struct tocsin_errbuf *errs)
{
    struct ctx c;
    memset(&c, 0, sizeof c);
    c.name = name;
    c.errs = errs;
    const char *slash = strrchr(name, '/');
    c.dir = slash ? strndup(name, slash == name ? 1 : (size_t)(slash - name))
                  : strdup(".");
    struct tocsin_config *cfg = calloc(1, sizeof *cfg);
    config_t lc;
    config_init(&lc);
    tocsin_err rc = TOCSIN_ENOMEM;
    if (!c.dir || !cfg)
        goto out;
    cfg->path = xstrdup(&c, name);
    config_set_include_dir(&lc, c.dir);
    if (!config_read_string(&lc, text)) {
        const char *f = config_error_file(&lc);
        tocsin_errbuf_addf(errs, "%s:%d: syntax error: %s", f ? f : name,
                           config_error_line(&lc), config_error_text(&lc));
        rc = TOCSIN_ECONFIG;
        goto out;
    }
    prescan(&c, text);
    set_defaults(&c, root_keys, NKEYS(root_keys), cfg);
    set_dynamic_defaults(&c, cfg);
    if (c.oom)
        goto out;
    parse_group(&c, config_root_setting(&lc), "", root_keys, NKEYS(root_keys),
                cfg);
    tocsin_config_oncall_parse(&c, config_root_setting(&lc), cfg);
    if (c.oom)
        rc = TOCSIN_ENOMEM;
    else if (c.nerr)
        rc = TOCSIN_ECONFIG;
    else
        rc = TOCSIN_OK;
out:
    config_destroy(&lc);
    free(c.lits);
    free(c.bad);
    free(c.dir);
    if (rc == TOCSIN_OK)
        *out = cfg;
    else
        tocsin_config_free(cfg);
    return rc;
}

tocsin_err
tocsin_config_load_string(struct tocsin_config **out, const char *text,
                          const char *name, struct tocsin_errbuf *errs)
{
    if (!out || !text || !name)
        return TOCSIN_EINVAL;
    return load_text(out, text, name, errs);
}

tocsin_err
tocsin_config_load(struct tocsin_config **out, const char *path,
                   struct tocsin_errbuf *errs)
{
    if (!out || !path)
        return TOCSIN_EINVAL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        tocsin_errbuf_addf(errs, "%s: cannot open: %s", path, strerror(errno));
        return TOCSIN_EIO;
    }
    size_t cap = 4096, len = 0;
    char *text = malloc(cap);
    tocsin_err rc = TOCSIN_ENOMEM;
    if (!text)
        goto out;
    for (;;) {
        if (len + 1 == cap) {
            if (cap >= CONFIG_MAX_FILE_BYTES) {
                tocsin_errbuf_addf(errs, "%s: larger than %d bytes", path,
                                   CONFIG_MAX_FILE_BYTES);
                rc = TOCSIN_EIO;
                goto out;
            }
            char *t = realloc(text, cap * 2);
            if (!t)
                goto out;
            text = t;
            cap *= 2;
        }
        ssize_t r = read(fd, text + len, cap - 1 - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            tocsin_errbuf_addf(errs, "%s: cannot read: %s", path,
                               strerror(errno));
            rc = TOCSIN_EIO;
            goto out;
        }
        if (r == 0)
            break;
        len += (size_t)r;
    }
    text[len] = '\0';
    if (strlen(text) != len) {
        tocsin_errbuf_addf(errs, "%s: contains a NUL byte", path);
        rc = TOCSIN_ECONFIG;
        goto out;
    }
    rc = load_text(out, text, path, errs);
out:
    close(fd);
    free(text);
    return rc;
}

void
tocsin_config_free(struct tocsin_config *cfg)
{
    if (!cfg)
        return;
    free(cfg->path);
    wipe_free(cfg->redis.url); /* may hold a password */
    wipe_free(cfg->redis.password);
    for (size_t i = 0; i < cfg->redis.nstreams; i++)
        free(cfg->redis.streams[i]);
    free(cfg->redis.streams);
    free(cfg->redis.group);
    free(cfg->redis.consumer);
    free(cfg->redis.dead_suffix);
    free(cfg->redis.prefix);
    free(cfg->detection.timezone);
    tocsin_tz_free(cfg->detection.tz);
    for (size_t i = 0; i < cfg->detection.nzones; i++) {
        struct tocsin_topic_zone *z = &cfg->detection.zones[i];
        tocsin_tz_free((struct tocsin_tz *)z->tz);
        for (size_t k = 0; k < z->npatterns; k++)
            free(z->patterns[k]);
        free(z->patterns);
    }
    free(cfg->detection.zones);
    for (size_t i = 0; i < cfg->nreceivers; i++) {
        struct tocsin_receiver_config *r = &cfg->receivers[i];
        free(r->name);
        wipe_free(r->url); /* may hold a token */
        wipe_free(r->secret);
        wipe_free(r->token);
        wipe_free(r->user);
        wipe_free(r->password);
        free(r->topic);
        free(r->chat_id);
        free(r->device);
        free(r->ack_url);
        free(r->source);
        free(r->from);
        for (size_t k = 0; k < r->nto; k++)
            free(r->to[k]);
        free(r->to);
        wipe_free(r->key);
        free(r->key_id);
        free(r->team_id);
        free(r->project_id);
        free(r->token_url);
        free(r->p256dh);
        wipe_free(r->auth);
        free(r->subject);
        free(r->sound);
        free(r->tls_ca_file);
        free(r->tls_client_cert);
        free(r->tls_client_key);
    }
    free(cfg->receivers);
    free(cfg->alerts.external_url);
    free(cfg->publish.listen);
    free(cfg->control.listen);
    free(cfg->http.listen);
    free(cfg->sentiment.lexicons);
    tocsin_oncall_config_free(cfg->oncall);
    free(cfg);
}

const struct tocsin_receiver_config *
tocsin_config_receiver(const struct tocsin_config *cfg, const char *name)
{
    if (!cfg || !name)
        return NULL;
    for (size_t i = 0; i < cfg->nreceivers; i++)
        if (cfg->receivers[i].name && strcmp(cfg->receivers[i].name, name) == 0)
            return &cfg->receivers[i];
    return NULL;
}
