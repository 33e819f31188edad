/*
 * recv_mattermost.c: Mattermost incoming webhook: {"text"} in Markdown, a
 * "####" title line, at most 16,383 characters.  Pure.
 */
#include <stdlib.h>
#include <string.h>

#include "recv_int.h"

#define MATTERMOST_TEXT_MAX 16383

tocsin_err
recv_mattermost(struct tocsin_request *q, const struct recv_ctx *c)
{
    tocsin_err err = recv_post_to_url(q, c);
    if (err)
        return err;
    char *title = tocsin_message_title(c->m, 300, TOCSIN_UNIT_CHARS);
    char *text =
        tocsin_message_text(c->m, TOCSIN_TEXT_LINK, TOCSIN_MARKUP_MARKDOWN, 3,
                            MATTERMOST_TEXT_MAX - 320, TOCSIN_UNIT_CHARS);
    char *all = NULL;
    if (title && text) {
        size_t n = strlen(title) + strlen(text) + 8;
        all = malloc(n);
        if (all)
            snprintf(all, n, "#### %s\n%s", title, text);
    }
    free(title);
    free(text);
    if (!all)
        return TOCSIN_ENOMEM;
    json_t *o = json_pack("{s:s, s:s}", "text", all, "username", "tocsin");
    free(all);
    return recv_json_body(q, o);
}
