/*
 * matcher.c: parsing and evaluating label matchers.  Owns each list's
 * compiled regexes and normalised texts.  Pure; any thread may read a
 * parsed list.
 */
#include "tocsin/matcher.h"

#include <ctype.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum op { OP_EQ, OP_NE, OP_RE, OP_NRE };

struct matcher {
    char *name, *value, *text;
    enum op op;
    int has_re;
    regex_t re;
};

struct tocsin_matchers {
    struct matcher *v;
    size_t n;
};

const char *
tocsin_labels_get(const struct tocsin_labelset *ls, const char *name)
{
    if (!ls || !name)
        return "";
    for (size_t i = 0; i < ls->n; i++)
        if (ls->v[i].name && strcmp(ls->v[i].name, name) == 0)
            return ls->v[i].value ? ls->v[i].value : "";
    return "";
}

static void
seterr(char *err, size_t errlen, const char *expr, const char *why)
{
    if (err && errlen)
        snprintf(err, errlen, "bad matcher \"%.80s\": %s", expr, why);
}

static const char *const op_text[] = {"=", "!=", "=~", "!~"};

/* Parse one expression into m; 0 on success, -1 (err set), -2 (ENOMEM). */
static int
parse_one(struct matcher *m, const char *expr, char *err, size_t errlen)
{
    const char *p = expr;
    while (isspace((unsigned char)*p))
        p++;
    const char *ns = p;
    if (!(isalpha((unsigned char)*p) || *p == '_')) {
        seterr(err, errlen, expr, "a label name must come first");
        return -1;
    }
    while (isalnum((unsigned char)*p) || *p == '_')
        p++;
    size_t nlen = (size_t)(p - ns);
    while (isspace((unsigned char)*p))
        p++;
    if (p[0] == '=' && p[1] == '~') {
        m->op = OP_RE;
        p += 2;
    } else if (p[0] == '!' && p[1] == '~') {
        m->op = OP_NRE;
        p += 2;
    } else if (p[0] == '!' && p[1] == '=') {
        m->op = OP_NE;
        p += 2;
    } else if (p[0] == '=') {
        m->op = OP_EQ;
        p += 1;
    } else {
        seterr(err, errlen, expr, "expected =, !=, =~ or !~");
        return -1;
    }
    while (isspace((unsigned char)*p))
        p++;
    size_t rest = strlen(p);
    char *val = malloc(rest + 1);
    if (!val)
        return -2;
    size_t vl = 0;
    if (*p == '"') {
        p++;
        while (*p && *p != '"') {
            if (*p == '\\' && p[1])
                p++;
            val[vl++] = *p++;
        }
        if (*p != '"') {
            free(val);
            seterr(err, errlen, expr, "unterminated quoted value");
            return -1;
        }
        p++;
        while (isspace((unsigned char)*p))
            p++;
        if (*p) {
            free(val);
            seterr(err, errlen, expr, "text after the quoted value");
            return -1;
        }
    } else {
        memcpy(val, p, rest);
        vl = rest;
        while (vl > 0 && isspace((unsigned char)val[vl - 1]))
            vl--;
    }
    val[vl] = '\0';
    m->name = strndup(ns, nlen);
    m->value = val;
    size_t tl = nlen + 2 * vl + 8;
    m->text = malloc(tl);
    if (!m->name || !m->text)
        return -2;
    char *t = m->text;
    t += sprintf(t, "%.*s%s\"", (int)nlen, ns, op_text[m->op]);
    for (size_t i = 0; i < vl; i++) {
        if (val[i] == '"' || val[i] == '\\')
            *t++ = '\\';
        *t++ = val[i];
    }
    *t++ = '"';
    *t = '\0';
    if (m->op == OP_RE || m->op == OP_NRE) {
        char *anch = malloc(vl + 5);
        if (!anch)
            return -2;
        snprintf(anch, vl + 5, "^(%s)$", val);
        int rc = regcomp(&m->re, anch, REG_EXTENDED | REG_NOSUB);
        free(anch);
        if (rc != 0) {
            char why[128];
            regerror(rc, &m->re, why, sizeof why);
            seterr(err, errlen, expr, why);
            return -1;
        }
        m->has_re = 1;
    }
    return 0;
}

void
tocsin_matchers_free(struct tocsin_matchers *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n; i++) {
        free(m->v[i].name);
        free(m->v[i].value);
        free(m->v[i].text);
        if (m->v[i].has_re)
            regfree(&m->v[i].re);
    }
    free(m->v);
    free(m);
}

tocsin_err
tocsin_matchers_parse(struct tocsin_matchers **out, const char *const *exprs,
                      size_t n, char *err, size_t errlen)
{
    if (!out || (n && !exprs))
        return TOCSIN_EINVAL;
    struct tocsin_matchers *m = calloc(1, sizeof *m);
    if (!m)
        return TOCSIN_ENOMEM;
    if (n && !(m->v = calloc(n, sizeof *m->v))) {
        free(m);
        return TOCSIN_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        m->n = i + 1;
        int rc = exprs[i] ? parse_one(&m->v[i], exprs[i], err, errlen) : -1;
        if (rc) {
            tocsin_matchers_free(m);
            return rc == -2 ? TOCSIN_ENOMEM : TOCSIN_EINVAL;
        }
    }
    *out = m;
    return TOCSIN_OK;
}

int
tocsin_matchers_match(const struct tocsin_matchers *m,
                      const struct tocsin_labelset *ls)
{
    if (!m)
        return 1;
    for (size_t i = 0; i < m->n; i++) {
        const struct matcher *x = &m->v[i];
        const char *v = tocsin_labels_get(ls, x->name);
        int ok;
        switch (x->op) {
        case OP_EQ:
            ok = strcmp(v, x->value) == 0;
            break;
        case OP_NE:
            ok = strcmp(v, x->value) != 0;
            break;
        case OP_RE:
            ok = regexec(&x->re, v, 0, NULL, 0) == 0;
            break;
        default:
            ok = regexec(&x->re, v, 0, NULL, 0) != 0;
            break;
        }
        if (!ok)
            return 0;
    }
    return 1;
}

size_t
tocsin_matchers_count(const struct tocsin_matchers *m)
{
    return m ? m->n : 0;
}

const char *
tocsin_matchers_text(const struct tocsin_matchers *m, size_t i)
{
    return m && i < m->n ? m->v[i].text : NULL;
}
