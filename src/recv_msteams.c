/*
 * recv_msteams.c: Microsoft Teams through a Workflows (Power Automate) URL:
 * a message with one Adaptive Card attachment (title, text, an "Open"
 * action), as Alertmanager's msteamsv2 sends it.  Pure.
 */
#include <stdlib.h>
#include <string.h>

#include "recv_int.h"

#define TEAMS_TEXT_MAX 8000

tocsin_err
recv_msteams(struct tocsin_request *q, const struct recv_ctx *c)
{
    const struct tocsin_message *m = c->m;
    tocsin_err err = recv_post_to_url(q, c);
    if (err)
        return err;
    char *title = tocsin_message_title(m, 300, TOCSIN_UNIT_CHARS);
    char *text = tocsin_message_text(m, 0, TOCSIN_MARKUP_MARKDOWN, 3,
                                     TEAMS_TEXT_MAX, TOCSIN_UNIT_CHARS);
    json_t *card = NULL, *o = NULL;
    err = TOCSIN_ENOMEM;
    if (!title || !text)
        goto out;
    const char *colour = m->resolved                            ? "Good"
                         : strcmp(m->severity, "critical") == 0 ? "Attention"
                                                                : "Warning";
    card = json_pack(
        "{s:s, s:s, s:s, s:[{s:s, s:s, s:s, s:s, s:s, s:b},"
        " {s:s, s:s, s:b}]}",
        "$schema", "http://adaptivecards.io/schemas/adaptive-card.json", "type",
        "AdaptiveCard", "version", "1.4", "body", "type", "TextBlock", "text",
        title, "weight", "Bolder", "size", "Medium", "color", colour, "wrap", 1,
        "type", "TextBlock", "text", text, "wrap", 1);
    if (!card)
        goto out;
    if (m->link[0] &&
        recv_set(card, "actions",
                 json_pack("[{s:s, s:s, s:s}]", "type", "Action.OpenUrl",
                           "title", "Open in tocsin", "url", m->link)))
        goto out;
    o = json_pack("{s:s, s:[{s:s, s:n, s:o}]}", "type", "message",
                  "attachments", "contentType",
                  "application/vnd.microsoft.card.adaptive", "contentUrl",
                  "content", card);
    card = NULL;
    if (!o)
        goto out;
    err = recv_json_body(q, o);
out:
    json_decref(card);
    free(title);
    free(text);
    return err;
}
