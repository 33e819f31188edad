/*
 * sign.c: HMAC-SHA256 webhook signatures through OpenSSL 3's EVP_MAC.
 * Owns nothing between calls; any thread may call it.
 */
#include "tocsin/sign.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <stdio.h>
#include <string.h>

tocsin_err
tocsin_sign_webhook(const char *secret, long long t, const char *body,
                    size_t len, char *out, size_t outlen)
{
    tocsin_err err = TOCSIN_EIO;
    EVP_MAC *mac = NULL;
    EVP_MAC_CTX *ctx = NULL;
    unsigned char md[EVP_MAX_MD_SIZE];
    size_t mdlen = 0;
    char prefix[32];
    char buf[TOCSIN_SIGN_MAX];

    if (!secret || !secret[0] || (!body && len > 0) || !out)
        return TOCSIN_EINVAL;
    int plen = snprintf(prefix, sizeof prefix, "%lld.", t);
    if (plen < 0 || (size_t)plen >= sizeof prefix)
        return TOCSIN_EINVAL;

    mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    if (!mac)
        goto out;
    ctx = EVP_MAC_CTX_new(mac);
    if (!ctx)
        goto out;
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
        OSSL_PARAM_construct_end(),
    };
    if (!EVP_MAC_init(ctx, (const unsigned char *)secret, strlen(secret),
                      params) ||
        !EVP_MAC_update(ctx, (const unsigned char *)prefix, (size_t)plen) ||
        (len > 0 && !EVP_MAC_update(ctx, (const unsigned char *)body, len)) ||
        !EVP_MAC_final(ctx, md, &mdlen, sizeof md) || mdlen != 32)
        goto out;

    static const char hex[] = "0123456789abcdef";
    int n = snprintf(buf, sizeof buf, "t=%lld,v1=", t);
    if (n < 0 || (size_t)n + 2 * mdlen >= sizeof buf)
        goto out;
    size_t o = (size_t)n;
    for (size_t i = 0; i < mdlen; i++) {
        buf[o++] = hex[md[i] >> 4];
        buf[o++] = hex[md[i] & 15];
    }
    buf[o] = '\0';
    if (o + 1 > outlen) {
        err = TOCSIN_ERANGE;
        goto out;
    }
    memcpy(out, buf, o + 1);
    err = TOCSIN_OK;
out:
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(mac);
    return err;
}
