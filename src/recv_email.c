/*
 * recv_email.c: email through SMTP (libcurl's smtp:// and smtps://, with
 * STARTTLS required on smtp:// unless starttls = false).  One plain-text
 * message per event: From (with its display name), To, Subject (RFC 2047
 * encoded when not ASCII), Date, Message-ID (from the delivery id, so a
 * retry is recognisably the same mail), References (the alert's first
 * message, so a resolved mail threads under its firing one), and the
 * phone-sized text.  The envelope sender is the address in From.  Pure.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "recv_int.h"
#include "tocsin/jose.h"
#include "tocsin/strbuf.h"

#define EMAIL_SUBJECT_MAX 200
#define EMAIL_TEXT_MAX    20000

/* The addr-spec of "Name <addr>" or "addr" (new string). */
static char *
addr_spec(const char *from)
{
    const char *lt = strrchr(from, '<');
    const char *gt = lt ? strchr(lt, '>') : NULL;
    if (lt && gt)
        return strndup(lt + 1, (size_t)(gt - lt - 1));
    while (isspace((unsigned char)*from))
        from++;
    size_t n = strlen(from);
    while (n > 0 && isspace((unsigned char)from[n - 1]))
        n--;
    return strndup(from, n);
}

static int
ascii_printable(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
            return 0;
    return 1;
}

/* "=?UTF-8?B?...?=" words of at most 45 bytes each, not splitting a
 * character, folded on continuation lines. */
static void
put_encoded(struct tocsin_strbuf *b, const char *s)
{
    size_t len = strlen(s), off = 0;
    int first = 1;
    while (off < len) {
        size_t take =
            tocsin_utf8_prefix(s + off, len - off, 45, TOCSIN_UNIT_BYTES);
        if (take == 0)
            take = 1;
        char *enc = tocsin_b64_encode((const unsigned char *)s + off, take);
        if (!enc) {
            b->oom = 1;
            return;
        }
        if (!first)
            tocsin_strbuf_puts(b, "\r\n ");
        tocsin_strbuf_puts(b, "=?UTF-8?B?");
        tocsin_strbuf_puts(b, enc);
        tocsin_strbuf_puts(b, "?=");
        free(enc);
        off += take;
        first = 0;
    }
}

/* The text with LF line ends turned into CRLF, lines over 998 bytes
 * broken (RFC 5322). */
static void
put_text(struct tocsin_strbuf *b, const char *s)
{
    size_t col = 0;
    for (const char *p = s; *p; p++) {
        if (*p == '\r')
            continue;
        if (*p == '\n') {
            tocsin_strbuf_puts(b, "\r\n");
            col = 0;
            continue;
        }
        if (col >= 900 && ((unsigned char)*p & 0xc0) != 0x80) {
            tocsin_strbuf_puts(b, "\r\n");
            col = 0;
        }
        tocsin_strbuf_add(b, p, 1);
        col++;
    }
    if (col)
        tocsin_strbuf_puts(b, "\r\n");
}

/* A token for Message-ID: letters, digits and ".-_" of s. */
static void
id_token(char *out, size_t cap, const char *s)
{
    size_t k = 0;
    for (; *s && k + 1 < cap; s++)
        out[k++] =
            isalnum((unsigned char)*s) || *s == '.' || *s == '-' ? *s : '_';
    out[k] = '\0';
}

tocsin_err
recv_email(struct tocsin_request *q, const struct recv_ctx *c)
{
    const struct tocsin_receiver_config *r = c->r;
    const struct tocsin_message *m = c->m;
    if (c->step > 0)
        return TOCSIN_ENOENT;
    if (!r->url || !r->from || !r->nto)
        return TOCSIN_EINVAL;
    struct tocsin_strbuf b = {0};
    tocsin_err err = TOCSIN_ENOMEM;
    char *title = tocsin_message_title(m, EMAIL_SUBJECT_MAX, TOCSIN_UNIT_CHARS);
    char *text = tocsin_message_text(m, TOCSIN_TEXT_LINK, TOCSIN_MARKUP_PLAIN,
                                     3, EMAIL_TEXT_MAX, TOCSIN_UNIT_BYTES);
    char *sender = addr_spec(r->from);
    if (!title || !text || !sender)
        goto out;
    if (!strchr(sender, '@') || strpbrk(r->from, "\r\n")) {
        err = TOCSIN_EINVAL;
        goto out;
    }
    const char *dom = strchr(sender, '@') + 1;

    /* From: an ASCII display name goes as is (quoted when needed), else
     * encoded. */
    tocsin_strbuf_puts(&b, "From: ");
    const char *lt = strrchr(r->from, '<');
    if (lt && lt > r->from) {
        size_t nl = (size_t)(lt - r->from);
        while (nl > 0 && r->from[nl - 1] == ' ')
            nl--;
        char *name = strndup(r->from, nl);
        if (!name)
            goto out;
        if (name[0] == '"' ||
            (ascii_printable(name) && !strpbrk(name, "()<>[]:;@\\,.\""))) {
            tocsin_strbuf_puts(&b, name);
        } else if (ascii_printable(name)) {
            tocsin_strbuf_puts(&b, "\"");
            for (const char *p = name; *p; p++) {
                if (*p == '"' || *p == '\\')
                    tocsin_strbuf_puts(&b, "\\");
                tocsin_strbuf_add(&b, p, 1);
            }
            tocsin_strbuf_puts(&b, "\"");
        } else {
            put_encoded(&b, name);
        }
        free(name);
        tocsin_strbuf_puts(&b, " <");
        tocsin_strbuf_puts(&b, sender);
        tocsin_strbuf_puts(&b, ">\r\n");
    } else {
        tocsin_strbuf_puts(&b, sender);
        tocsin_strbuf_puts(&b, "\r\n");
    }
    tocsin_strbuf_puts(&b, "To: ");
    for (size_t i = 0; i < r->nto; i++) {
        if (strpbrk(r->to[i], "\r\n")) {
            err = TOCSIN_EINVAL;
            goto out;
        }
        tocsin_strbuf_puts(&b, i ? ",\r\n " : "");
        tocsin_strbuf_puts(&b, r->to[i]);
    }
    tocsin_strbuf_puts(&b, "\r\nSubject: ");
    if (ascii_printable(title))
        tocsin_strbuf_puts(&b, title);
    else
        put_encoded(&b, title);
    char line[512];
    time_t t = (time_t)(c->now_ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(line, sizeof line, "\r\nDate: %a, %d %b %Y %H:%M:%S +0000\r\n",
             &tm);
    tocsin_strbuf_puts(&b, line);
    char id[128], fp[80];
    id_token(id, sizeof id, c->delivery[0] ? c->delivery : "event");
    snprintf(line, sizeof line, "Message-ID: <%s@%.100s>\r\n", id, dom);
    tocsin_strbuf_puts(&b, line);
    if (m->fingerprint[0]) {
        id_token(fp, sizeof fp, m->fingerprint);
        snprintf(line, sizeof line,
                 "References: <alert-%s@%.100s>\r\n"
                 "X-Tocsin-Fingerprint: %s\r\n",
                 fp, dom, fp);
        tocsin_strbuf_puts(&b, line);
    }
    snprintf(line, sizeof line, "X-Tocsin-Delivery: %s\r\n", id);
    tocsin_strbuf_puts(&b, line);
    if (!m->resolved && strcmp(m->severity, "critical") == 0)
        tocsin_strbuf_puts(&b, "X-Priority: 1\r\nImportance: high\r\n");
    tocsin_strbuf_puts(&b, "Auto-Submitted: auto-generated\r\n"
                           "MIME-Version: 1.0\r\n"
                           "Content-Type: text/plain; charset=UTF-8\r\n"
                           "Content-Transfer-Encoding: 8bit\r\n"
                           "\r\n");
    put_text(&b, text[0] ? text : title);
    if (b.oom)
        goto out;

    q->url = strdup(r->url);
    q->mail_from = strdup(sender);
    q->rcpt = calloc(r->nto, sizeof *q->rcpt);
    if (!q->url || !q->mail_from || !q->rcpt)
        goto out;
    for (size_t i = 0; i < r->nto; i++) {
        char *a = addr_spec(r->to[i]);
        if (!a)
            goto out;
        q->rcpt[q->nrcpt++] = a;
    }
    if ((r->user && !(q->user = strdup(r->user))) ||
        (r->password && !(q->password = strdup(r->password))))
        goto out;
    q->starttls = r->starttls;
    q->body_len = b.len;
    q->body = tocsin_strbuf_take(&b);
    err = TOCSIN_OK;
out:
    free(b.s);
    free(title);
    free(text);
    free(sender);
    return err;
}
