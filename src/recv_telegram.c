/*
 * recv_telegram.c: Telegram Bot API sendMessage: POST
 * <base>/bot<token>/sendMessage with chat_id and a plain text of at most
 * 4,096 characters (counted in UTF-16 units, as Telegram does), link
 * previews off; resolved events arrive silently.  Pure.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "recv_int.h"

#define TELEGRAM_TEXT_MAX 4096

static json_t *
chat_of(const char *id)
{
    const char *p = id + (*id == '-');
    int numeric = *p != '\0' && strlen(id) < 19;
    for (; numeric && *p; p++)
        numeric = isdigit((unsigned char)*p);
    return numeric ? json_integer(strtoll(id, NULL, 10)) : json_string(id);
}

tocsin_err
recv_telegram(struct tocsin_request *q, const struct recv_ctx *c)
{
    const struct tocsin_receiver_config *r = c->r;
    if (c->step > 0)
        return TOCSIN_ENOENT;
    if (!r->token || !r->chat_id)
        return TOCSIN_EINVAL;
    size_t n = strlen(r->token) + sizeof "/bot/sendMessage";
    char *path = malloc(n);
    if (!path)
        return TOCSIN_ENOMEM;
    snprintf(path, n, "/bot%s/sendMessage", r->token);
    tocsin_err err =
        recv_set_url(q, r->url ? r->url : "https://api.telegram.org", path);
    memset(path, 0, n);
    free(path);
    if (err)
        return err;
    char *text = tocsin_message_text(
        c->m, TOCSIN_TEXT_SUMMARY | TOCSIN_TEXT_LINK, TOCSIN_MARKUP_PLAIN, 3,
        TELEGRAM_TEXT_MAX, TOCSIN_UNIT_UTF16);
    if (!text)
        return TOCSIN_ENOMEM;
    json_t *o =
        json_pack("{s:o, s:s, s:{s:b}, s:b}", "chat_id", chat_of(r->chat_id),
                  "text", text, "link_preview_options", "is_disabled", 1,
                  "disable_notification", c->m->resolved);
    free(text);
    return recv_json_body(q, o);
}
