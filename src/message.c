/*
 * message.c: phone-sized texts from an outbox body, and UTF-8-safe
 * truncation.  Pure; owns only the parsed JSON of a struct tocsin_message.
 */
#include "tocsin/message.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tocsin/strbuf.h"

#define ELLIPSIS "\xe2\x80\xa6" /* U+2026, 3 bytes, 1 char, 1 UTF-16 unit */

/* Length of the UTF-8 sequence starting at s[i] (1 for invalid bytes),
 * and its size in unit. */
static size_t
seq_len(const unsigned char *s, size_t i, size_t len, size_t *units,
        enum tocsin_unit unit)
{
    unsigned char c = s[i];
    size_t n = 1;
    if (c >= 0xc2 && c <= 0xdf)
        n = 2;
    else if (c >= 0xe0 && c <= 0xef)
        n = 3;
    else if (c >= 0xf0 && c <= 0xf4)
        n = 4;
    if (i + n > len)
        n = 1;
    for (size_t k = 1; k < n; k++)
        if ((s[i + k] & 0xc0) != 0x80) {
            n = 1;
            break;
        }
    /* Bytes unless told otherwise: *units is always written. */
    *units = n;
    if (unit == TOCSIN_UNIT_CHARS)
        *units = 1;
    else if (unit == TOCSIN_UNIT_UTF16)
        *units = n == 4 ? 2 : 1;
    return n;
}

size_t
tocsin_utf8_prefix(const char *s, size_t len, size_t max, enum tocsin_unit unit)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, used = 0;
    while (i < len) {
        size_t w;
        size_t n = seq_len(u, i, len, &w, unit);
        if (used + w > max)
            break;
        used += w;
        i += n;
    }
    return i;
}

size_t
tocsin_utf8_length(const char *s, size_t len, enum tocsin_unit unit)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, used = 0;
    while (i < len) {
        size_t w;
        i += seq_len(u, i, len, &w, unit);
        used += w;
    }
    return used;
}

static size_t
ellipsis_units(enum tocsin_unit unit)
{
    return unit == TOCSIN_UNIT_BYTES ? 3 : 1;
}

char *
tocsin_utf8_ellipsize(const char *s, size_t max, enum tocsin_unit unit)
{
    size_t len = strlen(s);
    size_t keep = len;
    int cut = 0;
    if (tocsin_utf8_length(s, len, unit) > max) {
        size_t e = ellipsis_units(unit);
        keep = max >= e ? tocsin_utf8_prefix(s, len, max - e, unit) : 0;
        /* Do not leave a space before the ellipsis. */
        while (keep > 0 && (s[keep - 1] == ' ' || s[keep - 1] == '\n'))
            keep--;
        cut = max >= e;
    }
    char *d = malloc(keep + sizeof ELLIPSIS);
    if (!d)
        return NULL;
    memcpy(d, s, keep);
    if (cut)
        memcpy(d + keep, ELLIPSIS, sizeof ELLIPSIS);
    else
        d[keep] = '\0';
    return d;
}

/* ---- parsing ------------------------------------------------------------ */

static const char *
str_at(json_t *o, const char *key, const char *dflt)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : dflt;
}

tocsin_err
tocsin_message_parse(struct tocsin_message *m, const char *body, size_t len)
{
    memset(m, 0, sizeof *m);
    json_error_t je;
    json_t *root = json_loadb(body, len, 0, &je);
    if (!root)
        return TOCSIN_EINVAL;
    json_t *alert = json_array_get(json_object_get(root, "alerts"), 0);
    if (!json_is_object(root) || !json_is_object(alert)) {
        json_decref(root);
        return TOCSIN_EINVAL;
    }
    json_t *labels = json_object_get(alert, "labels");
    json_t *ann = json_object_get(alert, "annotations");
    json_t *ev = json_object_get(alert, "tocsin");
    m->root = root;
    m->status = str_at(alert, "status", str_at(root, "status", "firing"));
    m->resolved = strcmp(m->status, "resolved") == 0;
    m->alertname = str_at(labels, "alertname", "");
    m->topic = str_at(labels, "topic", str_at(labels, "brand", ""));
    m->severity = str_at(labels, "severity", "warning");
    m->summary = str_at(ann, "summary", "");
    if (!m->summary[0])
        m->summary = m->alertname[0] ? m->alertname : "tocsin alert";
    m->description = str_at(ann, "description", "");
    m->fingerprint = str_at(alert, "fingerprint", "");
    m->link = str_at(alert, "generatorURL", "");
    m->external_url = str_at(root, "externalURL", "");
    json_t *oncall = json_object_get(alert, "tocsin_oncall");
    m->ack_url = str_at(oncall, "ack_url", "");
    m->oncall_kind = str_at(oncall, "kind", "");
    m->starts_at = str_at(alert, "startsAt", "");
    m->ends_at = str_at(alert, "endsAt", "");
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(ev, "emerging_terms"), i, v)
    {
        if (m->nterms == TOCSIN_MESSAGE_MAX_TERMS)
            break;
        const char *t =
            json_is_string(v) ? json_string_value(v) : str_at(v, "term", NULL);
        if (t && *t)
            m->terms[m->nterms++] = t;
    }
    json_t *arr = json_object_get(root, "alerts");
    json_array_foreach(arr, i, v)
    {
        if (m->nalerts == TOCSIN_MESSAGE_MAX_ALERTS)
            break;
        if (!json_is_object(v))
            continue;
        struct tocsin_message_alert *x = &m->alerts[m->nalerts++];
        json_t *xl = json_object_get(v, "labels");
        x->summary = str_at(json_object_get(v, "annotations"), "summary", "");
        if (!x->summary[0])
            x->summary = str_at(xl, "alertname", "tocsin alert");
        x->severity = str_at(xl, "severity", "warning");
        x->topic = str_at(xl, "topic", str_at(xl, "brand", ""));
        x->fingerprint = str_at(v, "fingerprint", "");
        x->ack_url = str_at(json_object_get(v, "tocsin_oncall"), "ack_url", "");
        x->resolved = strcmp(str_at(v, "status", m->status), "resolved") == 0;
    }
    json_t *tr = json_object_get(root, "truncatedAlerts");
    m->total = json_array_size(arr) +
               (json_is_integer(tr) && json_integer_value(tr) > 0
                    ? (size_t)json_integer_value(tr)
                    : 0);
    json_array_foreach(json_object_get(ev, "samples"), i, v)
    {
        if (m->nsamples == TOCSIN_MESSAGE_MAX_SAMPLES)
            break;
        if (!json_is_object(v))
            continue;
        struct tocsin_message_sample *s = &m->samples[m->nsamples++];
        s->text = str_at(v, "text", "");
        s->author = str_at(v, "author", "");
        s->url = str_at(v, "url", "");
        json_t *f = json_object_get(v, "followers");
        s->followers =
            json_is_integer(f) ? (long long)json_integer_value(f) : -1;
        s->negative = json_is_true(json_object_get(v, "negative"));
    }
    return TOCSIN_OK;
}

void
tocsin_message_fini(struct tocsin_message *m)
{
    if (m && m->root)
        json_decref((json_t *)m->root);
    if (m)
        memset(m, 0, sizeof *m);
}

/* ---- rendering ---------------------------------------------------------- */

void
tocsin_format_reach(long long n, char *buf, size_t cap)
{
    if (n < 0)
        snprintf(buf, cap, "?");
    else if (n < 1000)
        snprintf(buf, cap, "%lld", n);
    else if (n < 10000)
        snprintf(buf, cap, "%.1fk", (double)n / 1e3);
    else if (n < 1000000)
        snprintf(buf, cap, "%lldk", (n + 500) / 1000);
    else if (n < 10000000)
        snprintf(buf, cap, "%.1fM", (double)n / 1e6);
    else
        snprintf(buf, cap, "%lldM", (n + 500000) / 1000000);
}

/* Append s with the markup's escapes. */
static void
sb_text(struct tocsin_strbuf *b, const char *s, enum tocsin_markup markup)
{
    if (markup != TOCSIN_MARKUP_SLACK) {
        tocsin_strbuf_puts(b, s);
        return;
    }
    for (; *s; s++) {
        switch (*s) {
        case '&':
            tocsin_strbuf_puts(b, "&amp;");
            break;
        case '<':
            tocsin_strbuf_puts(b, "&lt;");
            break;
        case '>':
            tocsin_strbuf_puts(b, "&gt;");
            break;
        default:
            tocsin_strbuf_add(b, s, 1);
        }
    }
}

/* Post text on one line: newlines and tabs become spaces. */
static char *
one_line(const char *s)
{
    char *d = strdup(s);
    if (!d)
        return NULL;
    for (char *p = d; *p; p++)
        if (*p == '\n' || *p == '\r' || *p == '\t')
            *p = ' ';
    return d;
}

char *
tocsin_message_title(const struct tocsin_message *m, size_t max,
                     enum tocsin_unit unit)
{
    struct tocsin_strbuf b = {0};
    if (m->resolved)
        tocsin_strbuf_puts(&b, "Resolved: ");
    if (m->total > 1) {
        char head[48];
        snprintf(head, sizeof head, "%zu alerts: ", m->total);
        tocsin_strbuf_puts(&b, head);
        for (size_t i = 0; i < m->nalerts; i++) {
            if (i)
                tocsin_strbuf_puts(&b, ", ");
            tocsin_strbuf_puts(&b, m->alerts[i].summary);
            tocsin_strbuf_puts(&b, " (");
            tocsin_strbuf_puts(&b, m->alerts[i].severity);
            tocsin_strbuf_puts(&b, m->alerts[i].resolved ? ", resolved)" : ")");
        }
    } else {
        tocsin_strbuf_puts(&b, m->summary);
    }
    if (b.oom) {
        free(b.s);
        return NULL;
    }
    char *t = tocsin_utf8_ellipsize(b.s, max, unit);
    free(b.s);
    return t;
}

/* One sample line, its text cut to text_max characters. */
static void
sample_line(struct tocsin_strbuf *b, const struct tocsin_message_sample *s,
            enum tocsin_markup markup, size_t text_max)
{
    char reach[32];
    tocsin_strbuf_puts(b, "\xe2\x80\xa2 "); /* "• " */
    const char *who = s->author[0] ? s->author : "someone";
    sb_text(b, who, markup);
    if (s->followers >= 0) {
        tocsin_format_reach(s->followers, reach, sizeof reach);
        tocsin_strbuf_puts(b, " (");
        tocsin_strbuf_puts(b, reach);
        tocsin_strbuf_puts(b, ")");
    }
    tocsin_strbuf_puts(b, ": \xe2\x80\x9c"); /* “ */
    char *flat = one_line(s->text);
    char *cut =
        flat ? tocsin_utf8_ellipsize(flat, text_max, TOCSIN_UNIT_CHARS) : NULL;
    if (!cut)
        b->oom = 1;
    else
        sb_text(b, cut, markup);
    free(flat);
    free(cut);
    tocsin_strbuf_puts(b, "\xe2\x80\x9d"); /* ” */
}

/* A link line: plain "PREFIX url", or the markup's link named label. */
static void
link_line(struct tocsin_strbuf *b, const char *url, enum tocsin_markup markup,
          const char *label, const char *prefix)
{
    switch (markup) {
    case TOCSIN_MARKUP_PLAIN:
        tocsin_strbuf_puts(b, prefix);
        tocsin_strbuf_puts(b, url);
        break;
    case TOCSIN_MARKUP_SLACK:
        tocsin_strbuf_puts(b, "<");
        sb_text(b, url, markup);
        tocsin_strbuf_puts(b, "|");
        tocsin_strbuf_puts(b, label);
        tocsin_strbuf_puts(b, ">");
        break;
    case TOCSIN_MARKUP_MARKDOWN:
        tocsin_strbuf_puts(b, "[");
        tocsin_strbuf_puts(b, label);
        tocsin_strbuf_puts(b, "](");
        tocsin_strbuf_puts(b, url);
        tocsin_strbuf_puts(b, ")");
        break;
    }
}

/* Which link lines render() adds. */
#define LINK_OPEN 1u /* the generator URL, "Open in tocsin" */
#define LINK_ACK  2u /* on call's signed ack link */

/* Render with the given amount of detail. */
static char *
render(const struct tocsin_message *m, unsigned what, enum tocsin_markup markup,
       size_t nsamples, size_t text_max, int with_desc, unsigned links)
{
    struct tocsin_strbuf b = {0};
    const char *sep = "";
    if (what & TOCSIN_TEXT_SUMMARY) {
        if (m->resolved)
            tocsin_strbuf_puts(&b, "Resolved: ");
        sb_text(&b, m->summary, markup);
        sep = "\n";
    }
    if (with_desc && m->description[0]) {
        tocsin_strbuf_puts(&b, sep);
        sb_text(&b, m->description, markup);
        sep = "\n";
    }
    if (m->nterms > 0) {
        tocsin_strbuf_puts(&b, sep);
        tocsin_strbuf_puts(&b, "Emerging: ");
        for (size_t i = 0; i < m->nterms; i++) {
            if (i)
                tocsin_strbuf_puts(&b, ", ");
            sb_text(&b, m->terms[i], markup);
        }
        sep = "\n";
    }
    for (size_t i = 0; i < nsamples && i < m->nsamples; i++) {
        tocsin_strbuf_puts(&b, sep);
        sample_line(&b, &m->samples[i], markup, text_max);
        sep = "\n";
    }
    if ((links & LINK_OPEN) && m->link[0]) {
        tocsin_strbuf_puts(&b, sep);
        link_line(&b, m->link, markup, "Open in tocsin", "");
        sep = "\n";
    }
    if ((links & LINK_ACK) && m->ack_url[0] && !m->resolved) {
        tocsin_strbuf_puts(&b, sep);
        link_line(&b, m->ack_url, markup, "Acknowledge", "Acknowledge: ");
    }
    return tocsin_strbuf_take(&b);
}

/* A group's text: [header,] nlines alert lines, the first nacks of them
 * with their ack link, "+N more", [the open link]. */
static char *
render_group(const struct tocsin_message *m, unsigned what,
             enum tocsin_markup markup, size_t nlines, size_t nacks,
             int open)
{
    struct tocsin_strbuf b = {0};
    const char *sep = "";
    char line[48];
    if (what & TOCSIN_TEXT_SUMMARY) {
        snprintf(line, sizeof line, "%s%zu alerts",
                 m->resolved ? "Resolved: " : "", m->total);
        tocsin_strbuf_puts(&b, line);
        sep = "\n";
    }
    for (size_t i = 0; i < nlines && i < m->nalerts; i++) {
        const struct tocsin_message_alert *x = &m->alerts[i];
        tocsin_strbuf_puts(&b, sep);
        tocsin_strbuf_puts(&b, "\xe2\x80\xa2 "); /* "• " */
        sb_text(&b, x->summary, markup);
        tocsin_strbuf_puts(&b, " (");
        sb_text(&b, x->severity, markup);
        tocsin_strbuf_puts(&b, x->resolved ? ", resolved)" : ")");
        if (i < nacks && x->ack_url[0] && !x->resolved) {
            tocsin_strbuf_puts(&b,
                               markup == TOCSIN_MARKUP_PLAIN ? "\n  " : " ");
            link_line(&b, x->ack_url, markup, "Acknowledge", "Acknowledge: ");
        }
        sep = "\n";
    }
    if (nlines < m->total) {
        snprintf(line, sizeof line, "+%zu more", m->total - nlines);
        tocsin_strbuf_puts(&b, sep);
        tocsin_strbuf_puts(&b, line);
        sep = "\n";
    }
    if (open && m->link[0]) {
        tocsin_strbuf_puts(&b, sep);
        link_line(&b, m->link, markup, "Open in tocsin", "");
    }
    return tocsin_strbuf_take(&b);
}

/* Whether t fits in max units; frees it when it does not. */
static char *
fits(char *t, size_t max, enum tocsin_unit unit, int *oom)
{
    if (!t) {
        *oom = 1;
        return NULL;
    }
    if (tocsin_utf8_length(t, strlen(t), unit) <= max)
        return t;
    free(t);
    return NULL;
}

static char *
group_text(const struct tocsin_message *m, unsigned what,
           enum tocsin_markup markup, size_t max, enum tocsin_unit unit)
{
    size_t n = m->nalerts;
    int oom = 0;
    char *t = NULL;
    if ((what & TOCSIN_TEXT_LINK) &&
        (t = fits(render_group(m, what, markup, n, n, 1), max, unit, &oom)))
        return t;
    /* Fewer ack links (the last alerts' first), then fewer lines. */
    for (size_t acks = n + 1; acks-- > 1 && !oom;)
        if ((t = fits(render_group(m, what, markup, n, acks, 0), max, unit,
                      &oom)))
            return t;
    for (size_t lines = n; lines-- > 1 && !oom;)
        if ((t = fits(render_group(m, what, markup, lines, 1, 0), max, unit,
                      &oom)))
            return t;
    if (oom)
        return NULL;
    t = render_group(m, what, markup, 1, 0, 0);
    char *c = t ? tocsin_utf8_ellipsize(t, max, unit) : NULL;
    free(t);
    return c;
}

char *
tocsin_message_text(const struct tocsin_message *m, unsigned what,
                    enum tocsin_markup markup, size_t max_samples, size_t max,
                    enum tocsin_unit unit)
{
    if (m->total > 1 && m->nalerts > 0)
        return group_text(m, what, markup, max, unit);
    static const size_t text_steps[] = {280, 160, 80, 40};
    /* The ack link goes in every text: it is what a phone user needs. */
    unsigned links = ((what & TOCSIN_TEXT_LINK) ? LINK_OPEN : 0u) | LINK_ACK;
    size_t ns = max_samples < m->nsamples ? max_samples : m->nsamples;
    /* Shorten the samples, then drop them one by one, then the
     * description, then the link; finally cut the text. */
    for (;;) {
        for (size_t k = 0; k < sizeof text_steps / sizeof text_steps[0]; k++) {
            char *t = render(m, what, markup, ns, text_steps[k], 1, links);
            if (!t)
                return NULL;
            if (tocsin_utf8_length(t, strlen(t), unit) <= max)
                return t;
            free(t);
            if (ns == 0)
                break;
        }
        if (ns == 0)
            break;
        ns--;
    }
    /* Drop "Open in tocsin" first, then the ack link. */
    const unsigned fewer[] = {links, links & LINK_ACK, 0u};
    for (size_t k = 0; k < sizeof fewer / sizeof *fewer; k++) {
        char *t = render(m, what, markup, 0, 0, 0, fewer[k]);
        if (!t)
            return NULL;
        if (tocsin_utf8_length(t, strlen(t), unit) <= max)
            return t;
        if (!fewer[k]) {
            char *c = tocsin_utf8_ellipsize(t, max, unit);
            free(t);
            return c;
        }
        free(t);
    }
    return NULL;
}
