/*
 * recv_slack.c: Slack incoming webhook with Block Kit: a header block (at
 * most 150 characters), a mrkdwn section (at most 3,000), a context line
 * and a link button; "text" is the notification fallback.  Pure.
 */
#include <stdlib.h>
#include <string.h>

#include "recv_int.h"

#define SLACK_HEADER_MAX  150
#define SLACK_SECTION_MAX 3000

tocsin_err
recv_slack(struct tocsin_request *q, const struct recv_ctx *c)
{
    const struct tocsin_message *m = c->m;
    tocsin_err err = recv_post_to_url(q, c);
    if (err)
        return err;
    const char *icon = m->resolved ? "\xe2\x9c\x85 " /* ✅ */
                       : strcmp(m->severity, "critical") == 0
                           ? "\xf0\x9f\x9a\xa8 "          /* 🚨 */
                           : "\xe2\x9a\xa0\xef\xb8\x8f "; /* ⚠️ */
    char *title =
        tocsin_message_title(m, SLACK_HEADER_MAX - 3, TOCSIN_UNIT_CHARS);
    char *fallback =
        tocsin_message_title(m, SLACK_SECTION_MAX, TOCSIN_UNIT_CHARS);
    char *text = tocsin_message_text(m, 0, TOCSIN_MARKUP_SLACK, 3,
                                     SLACK_SECTION_MAX, TOCSIN_UNIT_CHARS);
    char header[SLACK_HEADER_MAX * 4 + 16];
    char context[512];
    json_t *o = NULL, *blocks = NULL;
    err = TOCSIN_ENOMEM;
    if (!title || !fallback || !text)
        goto out;
    snprintf(header, sizeof header, "%s%s", icon, title);
    snprintf(context, sizeof context, "*%s* \xc2\xb7 %.200s \xc2\xb7 %.100s",
             m->resolved ? "resolved" : m->severity,
             m->topic[0] ? m->topic : "-", m->alertname);
    blocks =
        json_pack("[{s:s, s:{s:s, s:s, s:b}}, {s:s, s:{s:s, s:s}},"
                  " {s:s, s:[{s:s, s:s}]}]",
                  "type", "header", "text", "type", "plain_text", "text",
                  header, "emoji", 1, "type", "section", "text", "type",
                  "mrkdwn", "text", text[0] ? text : " ", "type", "context",
                  "elements", "type", "mrkdwn", "text", context);
    if (!blocks)
        goto out;
    if (m->link[0] && strlen(m->link) <= 3000) {
        json_t *a =
            json_pack("{s:s, s:[{s:s, s:{s:s, s:s}, s:s}]}", "type", "actions",
                      "elements", "type", "button", "text", "type",
                      "plain_text", "text", "Open in tocsin", "url", m->link);
        if (!a || json_array_append_new(blocks, a))
            goto out;
    }
    o = json_pack("{s:s, s:o}", "text", fallback, "blocks", blocks);
    blocks = NULL;
    if (!o)
        goto out;
    err = recv_json_body(q, o);
    o = NULL;
out:
    json_decref(blocks);
    free(title);
    free(fallback);
    free(text);
    return err;
}
