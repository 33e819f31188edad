/*
 * recv_discord.c: Discord webhook execution: content (the title, at most
 * 2,000 characters) and one embed (title at most 256, description at most
 * 4,096, url, colour by severity, timestamp); mentions disabled.  Pure.
 */
#include <stdlib.h>
#include <string.h>

#include "recv_int.h"

#define DISCORD_TITLE_MAX 256
#define DISCORD_DESC_MAX  4096

tocsin_err
recv_discord(struct tocsin_request *q, const struct recv_ctx *c)
{
    const struct tocsin_message *m = c->m;
    tocsin_err err = recv_post_to_url(q, c);
    if (err)
        return err;
    int colour = m->resolved                            ? 0x2EB67D
                 : strcmp(m->severity, "critical") == 0 ? 0xE01E5A
                                                        : 0xECB22E;
    char *title = tocsin_message_title(m, DISCORD_TITLE_MAX, TOCSIN_UNIT_UTF16);
    char *text = tocsin_message_text(m, 0, TOCSIN_MARKUP_MARKDOWN, 3,
                                     DISCORD_DESC_MAX, TOCSIN_UNIT_UTF16);
    json_t *embed = NULL, *o = NULL;
    err = TOCSIN_ENOMEM;
    if (!title || !text)
        goto out;
    embed = json_pack("{s:s, s:s, s:i}", "title", title, "description", text,
                      "color", colour);
    if (!embed || (m->link[0] && recv_set(embed, "url", json_string(m->link))))
        goto out;
    const char *ts = m->resolved ? m->ends_at : m->starts_at;
    if (ts[0] && ts[0] != '0' && recv_set(embed, "timestamp", json_string(ts)))
        goto out;
    o = json_pack("{s:s, s:[o], s:{s:[]}}", "content", title, "embeds", embed,
                  "allowed_mentions", "parse");
    embed = NULL;
    if (!o)
        goto out;
    err = recv_json_body(q, o);
out:
    json_decref(embed);
    free(title);
    free(text);
    return err;
}
