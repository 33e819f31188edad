/*
 * jose.c: base64(url), JWT signing (RS256, ES256) and RFC 8291 Web Push
 * encryption, all through OpenSSL 3 (EVP, HMAC, ECDSA_SIG, EC_POINT).
 * Pure; owns only the buffers it returns.  Thread-safe.
 */
#include "tocsin/jose.h"

#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

/* ---- base64 -------------------------------------------------------------- */

static char *
b64(const unsigned char *p, size_t n, int url)
{
    size_t cap = 4 * ((n + 2) / 3) + 1;
    char *s = malloc(cap);
    if (!s)
        return NULL;
    int len = n ? EVP_EncodeBlock((unsigned char *)s, p, (int)n) : 0;
    s[len] = '\0';
    if (url) {
        for (int i = 0; i < len; i++) {
            if (s[i] == '+')
                s[i] = '-';
            else if (s[i] == '/')
                s[i] = '_';
        }
        while (len > 0 && s[len - 1] == '=')
            s[--len] = '\0';
    }
    return s;
}

char *
tocsin_b64url_encode(const unsigned char *p, size_t n)
{
    return b64(p, n, 1);
}

char *
tocsin_b64_encode(const unsigned char *p, size_t n)
{
    return b64(p, n, 0);
}

static int
b64val(int c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+' || c == '-')
        return 62;
    if (c == '/' || c == '_')
        return 63;
    return -1;
}

tocsin_err
tocsin_b64url_decode(const char *s, unsigned char **out, size_t *n)
{
    if (!s || !out || !n)
        return TOCSIN_EINVAL;
    size_t len = strlen(s);
    while (len > 0 && s[len - 1] == '=')
        len--;
    if (len % 4 == 1)
        return TOCSIN_EINVAL;
    unsigned char *b = malloc(len * 3 / 4 + 3);
    if (!b)
        return TOCSIN_ENOMEM;
    size_t o = 0;
    unsigned acc = 0;
    int bits = 0;
    for (size_t i = 0; i < len; i++) {
        int v = b64val((unsigned char)s[i]);
        if (v < 0) {
            free(b);
            return TOCSIN_EINVAL;
        }
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            b[o++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    *out = b;
    *n = o;
    return TOCSIN_OK;
}

/* ---- keys ---------------------------------------------------------------- */

static EVP_PKEY *
read_key(const char *pem)
{
    if (!pem)
        return NULL;
    BIO *bio = BIO_new_mem_buf(pem, -1);
    if (!bio)
        return NULL;
    EVP_PKEY *k = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
    BIO_free(bio);
    return k;
}

static int
is_p256(EVP_PKEY *k)
{
    char name[64];
    size_t nl = 0;
    return EVP_PKEY_is_a(k, "EC") &&
           EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, name,
                                          sizeof name, &nl) == 1 &&
           strcmp(name, "prime256v1") == 0;
}

static int
key_fits(EVP_PKEY *k, const char *alg)
{
    if (strcmp(alg, "RS256") == 0)
        return EVP_PKEY_is_a(k, "RSA") && EVP_PKEY_get_bits(k) >= 2048;
    if (strcmp(alg, "ES256") == 0)
        return is_p256(k);
    return 0;
}

tocsin_err
tocsin_jwt_key_check(const char *alg, const char *pem_key)
{
    EVP_PKEY *k = read_key(pem_key);
    int ok = k && key_fits(k, alg);
    EVP_PKEY_free(k);
    return ok ? TOCSIN_OK : TOCSIN_EINVAL;
}

tocsin_err
tocsin_p256_public(const char *pem_key,
                   unsigned char out[TOCSIN_P256_PUBLIC_LEN])
{
    EVP_PKEY *k = read_key(pem_key);
    unsigned char buf[TOCSIN_P256_PUBLIC_LEN + 8];
    size_t n = 0;
    int ok = k && is_p256(k) &&
             EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_PUB_KEY, buf,
                                             sizeof buf, &n) == 1 &&
             n == TOCSIN_P256_PUBLIC_LEN && buf[0] == 0x04;
    EVP_PKEY_free(k);
    if (!ok)
        return TOCSIN_EINVAL;
    memcpy(out, buf, TOCSIN_P256_PUBLIC_LEN);
    return TOCSIN_OK;
}

/* ---- JWT ----------------------------------------------------------------- */

/* Sign msg with SHA-256; ES256 signatures are turned into r||s. */
static tocsin_err
sign(EVP_PKEY *k, int ec, const char *msg, unsigned char **sig, size_t *slen)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char *der = NULL;
    size_t dlen = 0;
    tocsin_err err = TOCSIN_EINVAL;
    if (!md)
        return TOCSIN_ENOMEM;
    if (EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, k) != 1 ||
        EVP_DigestSign(md, NULL, &dlen, (const unsigned char *)msg,
                       strlen(msg)) != 1)
        goto out;
    der = malloc(dlen);
    if (!der) {
        err = TOCSIN_ENOMEM;
        goto out;
    }
    if (EVP_DigestSign(md, der, &dlen, (const unsigned char *)msg,
                       strlen(msg)) != 1)
        goto out;
    if (!ec) {
        *sig = der;
        *slen = dlen;
        der = NULL;
        err = TOCSIN_OK;
        goto out;
    }
    const unsigned char *p = der;
    ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)dlen);
    if (!es)
        goto out;
    unsigned char *rs = malloc(64);
    const BIGNUM *r = NULL, *s = NULL;
    ECDSA_SIG_get0(es, &r, &s);
    if (rs && BN_bn2binpad(r, rs, 32) == 32 &&
        BN_bn2binpad(s, rs + 32, 32) == 32) {
        *sig = rs;
        *slen = 64;
        err = TOCSIN_OK;
    } else {
        free(rs);
        err = rs ? TOCSIN_EINVAL : TOCSIN_ENOMEM;
    }
    ECDSA_SIG_free(es);
out:
    free(der);
    EVP_MD_CTX_free(md);
    return err;
}

tocsin_err
tocsin_jwt_sign(char **out, const char *alg, const char *kid,
                const char *claims_json, const char *pem_key)
{
    if (!out || !alg || !claims_json)
        return TOCSIN_EINVAL;
    EVP_PKEY *k = read_key(pem_key);
    if (!k || !key_fits(k, alg)) {
        EVP_PKEY_free(k);
        return TOCSIN_EINVAL;
    }
    tocsin_err err = TOCSIN_ENOMEM;
    char *hjson = NULL, *h = NULL, *c = NULL, *input = NULL, *s = NULL;
    unsigned char *sig = NULL;
    size_t slen = 0;
    json_t *hdr = json_pack("{s:s, s:s}", "alg", alg, "typ", "JWT");
    if (!hdr || (kid && json_object_set_new(hdr, "kid", json_string(kid))))
        goto out;
    hjson = json_dumps(hdr, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (!hjson)
        goto out;
    h = tocsin_b64url_encode((const unsigned char *)hjson, strlen(hjson));
    c = tocsin_b64url_encode((const unsigned char *)claims_json,
                             strlen(claims_json));
    if (!h || !c)
        goto out;
    size_t il = strlen(h) + strlen(c) + 2;
    input = malloc(il);
    if (!input)
        goto out;
    snprintf(input, il, "%s.%s", h, c);
    if ((err = sign(k, strcmp(alg, "ES256") == 0, input, &sig, &slen)))
        goto out;
    err = TOCSIN_ENOMEM;
    s = tocsin_b64url_encode(sig, slen);
    if (!s)
        goto out;
    size_t tl = il + strlen(s) + 1;
    char *t = malloc(tl);
    if (!t)
        goto out;
    snprintf(t, tl, "%s.%s", input, s);
    *out = t;
    err = TOCSIN_OK;
out:
    json_decref(hdr);
    free(hjson);
    free(h);
    free(c);
    free(input);
    free(sig);
    free(s);
    EVP_PKEY_free(k);
    return err;
}

/* ---- RFC 8291 ------------------------------------------------------------ */

/* A P-256 key from raw bytes: priv (32) and/or pub (65). */
static EVP_PKEY *
p256_from_raw(const unsigned char *priv, const unsigned char *pub)
{
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    EVP_PKEY *k = NULL;
    BIGNUM *d = NULL;
    unsigned char derived[TOCSIN_P256_PUBLIC_LEN];
    EC_GROUP *grp = NULL;
    EC_POINT *pt = NULL;
    if (!bld)
        return NULL;
    if (priv) {
        d = BN_bin2bn(priv, 32, NULL);
        grp = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
        pt = grp ? EC_POINT_new(grp) : NULL;
        if (!d || !pt || !EC_POINT_mul(grp, pt, d, NULL, NULL, NULL) ||
            EC_POINT_point2oct(grp, pt, POINT_CONVERSION_UNCOMPRESSED, derived,
                               sizeof derived, NULL) != sizeof derived)
            goto out;
        pub = derived;
    }
    int sel = priv ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY;
    if (!OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
                                         "prime256v1", 0) ||
        !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub,
                                          TOCSIN_P256_PUBLIC_LEN) ||
        (d && !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d)))
        goto out;
    params = OSSL_PARAM_BLD_to_param(bld);
    ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    if (!params || !ctx || EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &k, sel, params) != 1)
        k = NULL;
out:
    EC_POINT_free(pt);
    EC_GROUP_free(grp);
    BN_clear_free(d);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    EVP_PKEY_CTX_free(ctx);
    return k;
}

/* HMAC-SHA-256(key, a || b || c), c may be NULL. */
static int
hmac3(const unsigned char *key, size_t klen, const unsigned char *a,
      size_t alen, const unsigned char *b, size_t blen, unsigned char out[32])
{
    unsigned char buf[512];
    if (alen + blen > sizeof buf)
        return 0;
    memcpy(buf, a, alen);
    if (blen)
        memcpy(buf + alen, b, blen);
    unsigned int ol = 0;
    return HMAC(EVP_sha256(), key, (int)klen, buf, alen + blen, out, &ol) !=
               NULL &&
           ol == 32;
}

tocsin_err
tocsin_ece_encrypt(unsigned char **out, size_t *outlen,
                   const unsigned char *plain, size_t n,
                   const unsigned char *ua_public, size_t ua_public_len,
                   const unsigned char *auth, size_t auth_len,
                   const unsigned char *as_private, const unsigned char *salt)
{
    if (!out || !outlen || (!plain && n))
        return TOCSIN_EINVAL;
    if (n > TOCSIN_ECE_MAX_PLAIN)
        return TOCSIN_ERANGE;
    if (!ua_public || ua_public_len != TOCSIN_P256_PUBLIC_LEN ||
        ua_public[0] != 0x04 || !auth || auth_len != TOCSIN_ECE_AUTH_LEN)
        return TOCSIN_EINVAL;
    tocsin_err err = TOCSIN_EINVAL;
    EVP_PKEY *as = NULL, *ua = NULL;
    EVP_PKEY_CTX *dctx = NULL;
    EVP_CIPHER_CTX *cctx = NULL;
    unsigned char *body = NULL;
    unsigned char secret[32], prk_key[32], ikm[32], prk[32], t[32];
    unsigned char as_pub[TOCSIN_P256_PUBLIC_LEN], sl[TOCSIN_ECE_SALT_LEN];
    unsigned char info[160];
    size_t as_pub_len = 0, slen = sizeof secret;

    if (as_private) {
        as = p256_from_raw(as_private, NULL);
    } else {
        as = EVP_EC_gen("P-256");
    }
    ua = p256_from_raw(NULL, ua_public);
    if (!as || !ua ||
        EVP_PKEY_get_octet_string_param(as, OSSL_PKEY_PARAM_PUB_KEY, as_pub,
                                        sizeof as_pub, &as_pub_len) != 1 ||
        as_pub_len != sizeof as_pub)
        goto out;
    if (salt)
        memcpy(sl, salt, sizeof sl);
    else if (RAND_bytes(sl, sizeof sl) != 1)
        goto out;
    dctx = EVP_PKEY_CTX_new(as, NULL);
    if (!dctx || EVP_PKEY_derive_init(dctx) != 1 ||
        EVP_PKEY_derive_set_peer(dctx, ua) != 1 ||
        EVP_PKEY_derive(dctx, secret, &slen) != 1 || slen != 32)
        goto out;
    /* PRK_key = HMAC(auth, ecdh); IKM = HMAC(PRK_key, key_info || 1) */
    static const char kinfo[] = "WebPush: info"; /* + NUL */
    size_t il = 0;
    memcpy(info, kinfo, sizeof kinfo);
    il = sizeof kinfo;
    memcpy(info + il, ua_public, TOCSIN_P256_PUBLIC_LEN);
    il += TOCSIN_P256_PUBLIC_LEN;
    memcpy(info + il, as_pub, TOCSIN_P256_PUBLIC_LEN);
    il += TOCSIN_P256_PUBLIC_LEN;
    info[il++] = 0x01;
    if (!hmac3(auth, auth_len, secret, 32, NULL, 0, prk_key) ||
        !hmac3(prk_key, 32, info, il, NULL, 0, ikm) ||
        !hmac3(sl, sizeof sl, ikm, 32, NULL, 0, prk))
        goto out;
    static const char cinfo[] = "Content-Encoding: aes128gcm";
    static const char ninfo[] = "Content-Encoding: nonce";
    static const unsigned char one = 0x01;
    unsigned char cek[16], nonce[12];
    if (!hmac3(prk, 32, (const unsigned char *)cinfo, sizeof cinfo, &one, 1, t))
        goto out;
    memcpy(cek, t, 16);
    if (!hmac3(prk, 32, (const unsigned char *)ninfo, sizeof ninfo, &one, 1, t))
        goto out;
    memcpy(nonce, t, 12);

    size_t total = TOCSIN_ECE_HEADER_LEN + n + 1 + 16;
    body = malloc(total);
    if (!body) {
        err = TOCSIN_ENOMEM;
        goto out;
    }
    memcpy(body, sl, 16);
    body[16] = (unsigned char)(TOCSIN_ECE_RS >> 24);
    body[17] = (unsigned char)(TOCSIN_ECE_RS >> 16);
    body[18] = (unsigned char)(TOCSIN_ECE_RS >> 8);
    body[19] = (unsigned char)(TOCSIN_ECE_RS & 0xff);
    body[20] = TOCSIN_P256_PUBLIC_LEN;
    memcpy(body + 21, as_pub, TOCSIN_P256_PUBLIC_LEN);
    unsigned char *ct = body + TOCSIN_ECE_HEADER_LEN;
    int l1 = 0, l2 = 0, l3 = 0;
    static const unsigned char delim = 0x02; /* last record */
    cctx = EVP_CIPHER_CTX_new();
    if (!cctx ||
        EVP_EncryptInit_ex(cctx, EVP_aes_128_gcm(), NULL, cek, nonce) != 1 ||
        (n && EVP_EncryptUpdate(cctx, ct, &l1, plain, (int)n) != 1) ||
        EVP_EncryptUpdate(cctx, ct + l1, &l2, &delim, 1) != 1 ||
        EVP_EncryptFinal_ex(cctx, ct + l1 + l2, &l3) != 1 ||
        (size_t)(l1 + l2 + l3) != n + 1 ||
        EVP_CIPHER_CTX_ctrl(cctx, EVP_CTRL_GCM_GET_TAG, 16, ct + n + 1) != 1)
        goto out;
    *out = body;
    *outlen = total;
    body = NULL;
    err = TOCSIN_OK;
out:
    OPENSSL_cleanse(secret, sizeof secret);
    OPENSSL_cleanse(prk_key, sizeof prk_key);
    OPENSSL_cleanse(ikm, sizeof ikm);
    OPENSSL_cleanse(prk, sizeof prk);
    OPENSSL_cleanse(t, sizeof t);
    free(body);
    EVP_CIPHER_CTX_free(cctx);
    EVP_PKEY_CTX_free(dctx);
    EVP_PKEY_free(as);
    EVP_PKEY_free(ua);
    return err;
}
