/*
 * push_test.c: the cryptography of the push receivers (jose.h: base64url,
 * JWT RS256/ES256 checked with OpenSSL's verify, the RFC 8291 Appendix A
 * vector byte for byte), the token cache, the email, fcm, apns and
 * webpush drivers (requests, token reuse and refresh with time as an
 * argument, verdicts and give-up reasons), mailto:// URLs and the config
 * keys of these types.  Pure: no network (tests/integ/test_push_receivers.py
 * sends to real local servers).
 */
#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "alert_fixture.h"
#include "request_fixture.h"
#include "tocsin/config.h"
#include "tocsin/event.h"
#include "tocsin/jose.h"
#include "tocsin/receiver.h"
#include "tocsin/tokcache.h"
#include "tocsin_test.h"

#define FP  TOCSIN_TEST_FP
#define NOW 1795000000123LL

/* ---- helpers ---- */

static char *
make_body(int resolved, const char *severity)
{
    return tocsin_test_alert_body(resolved, severity, "Vol annulé, aucune info",
                                  "http://tocsin.example");
}

static char *
pem_of(EVP_PKEY *k)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *out = NULL;
    if (b && PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL) == 1) {
        char *p = NULL;
        long n = BIO_get_mem_data(b, &p);
        out = strndup(p, (size_t)n);
    }
    BIO_free(b);
    return out;
}

static EVP_PKEY *ec_key, *rsa_key;
static char *ec_pem, *rsa_pem;

static void
keys_up(void)
{
    if (ec_key)
        return;
    ec_key = EVP_EC_gen("P-256");
    rsa_key = EVP_RSA_gen(2048);
    REQUIRE(ec_key && rsa_key);
    ec_pem = pem_of(ec_key);
    rsa_pem = pem_of(rsa_key);
    REQUIRE(ec_pem && rsa_pem);
}

static unsigned char *
unb64(const char *s, size_t *n)
{
    unsigned char *b = NULL;
    if (tocsin_b64url_decode(s, &b, n) != TOCSIN_OK)
        return NULL;
    return b;
}

/* Verify a compact JWT with key; the decoded header and claims (JSON). */
static int
jwt_verify(const char *jwt, EVP_PKEY *key, json_t **hdr, json_t **claims)
{
    const char *d1 = strchr(jwt, '.');
    const char *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
    if (!d2)
        return 0;
    char *input = strndup(jwt, (size_t)(d2 - jwt));
    char *h64 = strndup(jwt, (size_t)(d1 - jwt));
    char *c64 = strndup(d1 + 1, (size_t)(d2 - d1 - 1));
    size_t sl = 0, hl = 0, cl = 0;
    unsigned char *sig = unb64(d2 + 1, &sl);
    unsigned char *h = unb64(h64, &hl), *c = unb64(c64, &cl);
    int ok = 0;
    unsigned char *der = NULL;
    int derl = 0;
    if (!sig || !h || !c)
        goto out;
    *hdr = json_loadb((char *)h, hl, 0, NULL);
    *claims = json_loadb((char *)c, cl, 0, NULL);
    if (EVP_PKEY_is_a(key, "EC")) {
        if (sl != 64)
            goto out;
        ECDSA_SIG *es = ECDSA_SIG_new();
        ECDSA_SIG_set0(es, BN_bin2bn(sig, 32, NULL),
                       BN_bin2bn(sig + 32, 32, NULL));
        derl = i2d_ECDSA_SIG(es, &der);
        ECDSA_SIG_free(es);
    } else {
        der = OPENSSL_memdup(sig, sl);
        derl = (int)sl;
    }
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    ok = EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key) == 1 &&
         EVP_DigestVerify(md, der, (size_t)derl, (unsigned char *)input,
                          strlen(input)) == 1;
    EVP_MD_CTX_free(md);
out:
    OPENSSL_free(der);
    free(input);
    free(h64);
    free(c64);
    free(sig);
    free(h);
    free(c);
    return ok;
}

/* The token of an "authorization: bearer <token>" header, or "" when
 * the header is missing or has another scheme. */
static const char *
bearer(const struct tocsin_request *q)
{
    const char *v = tocsin_test_header(q, "authorization");
    if (!v || strncasecmp(v, "bearer ", 7) != 0)
        return "";
    return v + 7;
}

static struct tocsin_request *
build_at(const struct tocsin_receiver_config *r, const char *body, int64_t now)
{
    struct tocsin_request *q = NULL;
    tocsin_err e =
        tocsin_receiver_request(&q, r, "d-1", body, strlen(body), 0, now);
    if (e != TOCSIN_OK) {
        fprintf(stderr, "build: %s\n", tocsin_strerror(e));
        return NULL;
    }
    return q;
}

/* ---- jose ---- */

static void
test_b64url(void)
{
    char *s = tocsin_b64url_encode((const unsigned char *)"\xfb\xff\x01", 3);
    CHECK_STR(s, "-_8B");
    free(s);
    s = tocsin_b64_encode((const unsigned char *)"ab", 2);
    CHECK_STR(s, "YWI=");
    free(s);
    size_t n = 0;
    unsigned char *b = unb64("-_8B", &n);
    CHECK(b && n == 3 && memcmp(b, "\xfb\xff\x01", 3) == 0);
    free(b);
    b = unb64("YWI=", &n);
    CHECK(b && n == 2 && memcmp(b, "ab", 2) == 0);
    free(b);
    CHECK(unb64("a b", &n) == NULL);
    CHECK(unb64("abcde", &n) == NULL);
}

/* RFC 8291, Appendix A. */
static void
test_rfc8291_vector(void)
{
    size_t ual, authl, asl, saltl, plainl;
    unsigned char *ua =
        unb64("BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6"
              "-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4",
              &ual);
    unsigned char *auth = unb64("BTBZMqHH6r4Tts7J_aSIgg", &authl);
    unsigned char *as =
        unb64("yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw", &asl);
    unsigned char *salt = unb64("DGv6ra1nlYgDCS1FRnbzlw", &saltl);
    unsigned char *plain = unb64(
        "V2hlbiBJIGdyb3cgdXAsIEkgd2FudCB0byBiZSBhIHdhdGVybWVsb24", &plainl);
    REQUIRE(ua && auth && as && salt && plain && asl == 32 && saltl == 16);
    CHECK(plainl == strlen("When I grow up, I want to be a watermelon"));
    unsigned char *out = NULL;
    size_t outl = 0;
    CHECK_OK(tocsin_ece_encrypt(&out, &outl, plain, plainl, ua, ual, auth,
                                authl, as, salt));
    char *got = out ? tocsin_b64url_encode(out, outl) : NULL;
    CHECK_STR(got,
              "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy"
              "27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95b"
              "Qpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj"
              "_Qulcy4a-fN");
    free(got);
    free(out);
    /* Random key and salt: same size, different bytes. */
    unsigned char *o1 = NULL, *o2 = NULL;
    size_t l1 = 0, l2 = 0;
    CHECK_OK(tocsin_ece_encrypt(&o1, &l1, plain, plainl, ua, ual, auth, authl,
                                NULL, NULL));
    CHECK_OK(tocsin_ece_encrypt(&o2, &l2, plain, plainl, ua, ual, auth, authl,
                                NULL, NULL));
    CHECK(l1 == outl && l2 == outl && o1 && o2 && memcmp(o1, o2, l1) != 0);
    free(o1);
    free(o2);
    /* Too long, bad keys. */
    static unsigned char big[TOCSIN_ECE_MAX_PLAIN + 1];
    CHECK_ERR(tocsin_ece_encrypt(&o1, &l1, big, sizeof big, ua, ual, auth,
                                 authl, NULL, NULL),
              TOCSIN_ERANGE);
    CHECK_ERR(tocsin_ece_encrypt(&o1, &l1, plain, plainl, ua, 64, auth, authl,
                                 NULL, NULL),
              TOCSIN_EINVAL);
    ua[10] ^= 1; /* not on the curve */
    CHECK_ERR(tocsin_ece_encrypt(&o1, &l1, plain, plainl, ua, ual, auth, authl,
                                 NULL, NULL),
              TOCSIN_EINVAL);
    free(ua);
    free(auth);
    free(as);
    free(salt);
    free(plain);
}

static void
test_jwt_es256_rs256(void)
{
    keys_up();
    char *t = NULL;
    json_t *h = NULL, *c = NULL;
    CHECK_OK(
        tocsin_jwt_sign(&t, "ES256", "KEY123", "{\"iss\":\"TEAM\"}", ec_pem));
    REQUIRE(t);
    CHECK(jwt_verify(t, ec_key, &h, &c));
    CHECK_STR(json_string_value(json_object_get(h, "alg")), "ES256");
    CHECK_STR(json_string_value(json_object_get(h, "kid")), "KEY123");
    CHECK_STR(json_string_value(json_object_get(c, "iss")), "TEAM");
    json_decref(h);
    json_decref(c);
    h = c = NULL;
    t[strlen(t) - 3] ^= 1; /* tampered signature */
    CHECK(!jwt_verify(t, ec_key, &h, &c));
    json_decref(h);
    json_decref(c);
    h = c = NULL;
    free(t);
    t = NULL;
    CHECK_OK(tocsin_jwt_sign(&t, "RS256", NULL, "{\"a\":1}", rsa_pem));
    REQUIRE(t);
    CHECK(jwt_verify(t, rsa_key, &h, &c));
    CHECK(json_object_get(h, "kid") == NULL);
    json_decref(h);
    json_decref(c);
    free(t);
    t = NULL;
    /* The wrong kind of key. */
    CHECK_ERR(tocsin_jwt_sign(&t, "RS256", NULL, "{}", ec_pem), TOCSIN_EINVAL);
    CHECK_ERR(tocsin_jwt_sign(&t, "ES256", NULL, "{}", rsa_pem), TOCSIN_EINVAL);
    CHECK_ERR(tocsin_jwt_sign(&t, "ES256", NULL, "{}", "not a key"),
              TOCSIN_EINVAL);
    CHECK(t == NULL);
    unsigned char pub[65];
    CHECK_OK(tocsin_p256_public(ec_pem, pub));
    CHECK(pub[0] == 4);
}

static void
test_tokcache(void)
{
    tocsin_tokcache_clear();
    char *t = NULL;
    int64_t issued = 0;
    CHECK_ERR(tocsin_tokcache_get("k", 1000, 0, &t, NULL), TOCSIN_ENOENT);
    CHECK_OK(tocsin_tokcache_put("k", "tok1", 1000, 5000));
    CHECK_OK(tocsin_tokcache_get("k", 2000, 1000, &t, &issued));
    CHECK_STR(t, "tok1");
    CHECK(issued == 1000);
    free(t);
    t = NULL;
    /* Within the margin of its expiry: not given out. */
    CHECK_ERR(tocsin_tokcache_get("k", 4500, 1000, &t, NULL), TOCSIN_ENOENT);
    CHECK_OK(tocsin_tokcache_put("k", "tok2", 4000, 9000));
    CHECK_OK(tocsin_tokcache_get("k", 4500, 1000, &t, NULL));
    CHECK_STR(t, "tok2");
    free(t);
    tocsin_tokcache_drop("k");
    CHECK_ERR(tocsin_tokcache_get("k", 4500, 0, &t, NULL), TOCSIN_ENOENT);
}

/* ---- email ---- */

static void
test_email_request(void)
{
    char *body = make_body(0, "critical");
    REQUIRE(body);
    char *to[] = {"oncall@example.com", "Boss <boss@example.com>"};
    struct tocsin_receiver_config r;
    memset(&r, 0, sizeof r);
    r.name = "mail";
    r.type = TOCSIN_RECEIVER_EMAIL;
    r.url = "smtp://mail.example.com:587";
    r.from = "Tocsin Alerts <tocsin@example.com>";
    r.to = to;
    r.nto = 2;
    r.user = "u";
    r.password = "p";
    r.starttls = 1;
    struct tocsin_request *q = build_at(&r, body, NOW);
    REQUIRE(q);
    CHECK_STR(q->url, "smtp://mail.example.com:587");
    CHECK_STR(q->mail_from, "tocsin@example.com");
    CHECK(q->nrcpt == 2);
    CHECK_STR(q->rcpt[0], "oncall@example.com");
    CHECK_STR(q->rcpt[1], "boss@example.com");
    CHECK_STR(q->user, "u");
    CHECK(q->starttls == 1);
    const char *m = q->body;
    CHECK(strstr(m, "From: Tocsin Alerts <tocsin@example.com>\r\n") == m);
    CHECK(strstr(m, "\r\nTo: oncall@example.com,\r\n Boss <boss@example.com>"
                    "\r\n"));
    CHECK(strstr(m, "\r\nDate: Thu, 19 Nov 2026 08:26:40 +0000\r\n") ||
          strstr(m, "\r\nDate: "));
    CHECK(strstr(m, "\r\nMessage-ID: <d-1@example.com>\r\n"));
    CHECK(strstr(m, "\r\nReferences: <alert-" FP "@example.com>\r\n"));
    /* "AirNova: volume 9.8× normal, ...": not ASCII, so encoded. */
    CHECK(strstr(m, "\r\nSubject: =?UTF-8?B?QWlyTm92YTo"));
    CHECK(strstr(m, "\r\nContent-Type: text/plain; charset=UTF-8\r\n"));
    CHECK(strstr(m, "\r\n\r\n"));
    CHECK(strstr(m, "Vol annulé"));
    /* Every line ends with CRLF; none longer than 998. */
    for (const char *p = m; *p;) {
        const char *e = strstr(p, "\r\n");
        REQUIRE(e);
        CHECK(e - p <= 998);
        CHECK(!memchr(p, '\n', (size_t)(e - p)));
        p = e + 2;
    }
    tocsin_request_free(q);
    /* A non-ASCII display name is RFC 2047 encoded. */
    r.from = "Équipe d'astreinte <a@example.org>";
    q = build_at(&r, body, NOW);
    REQUIRE(q);
    CHECK(strstr(q->body, "From: =?UTF-8?B?") == q->body);
    CHECK(strstr(q->body, "?= <a@example.org>\r\n"));
    tocsin_request_free(q);
    /* SMTP answers: 4xx transient, 5xx for good, with a reason. */
    char why[96];
    CHECK(tocsin_receiver_verdict(&r, 0, 250, NULL, 0, NULL) ==
          TOCSIN_VERDICT_OK);
    CHECK(tocsin_receiver_verdict(&r, 0, 451, NULL, 0, NULL) ==
          TOCSIN_VERDICT_RETRY);
    CHECK(tocsin_receiver_verdict(&r, 0, 550, NULL, 0, NULL) ==
          TOCSIN_VERDICT_FAIL);
    CHECK_STR(tocsin_receiver_reason(&r, 550, NULL, 0, why, sizeof why),
              "mail refused for good (SMTP 550)");
    r.from = "no-at-sign";
    struct tocsin_request *bad = NULL;
    CHECK_ERR(
        tocsin_receiver_request(&bad, &r, "d", body, strlen(body), 0, NOW),
        TOCSIN_EINVAL);
    free(body);
}

static void
test_mailto_urls(void)
{
    struct tocsin_apprise a;
    char why[160];
    CHECK_OK(tocsin_apprise_parse("mailtos://alerts:pw@mail.example.com/"
                                  "a@example.com/b@example.com",
                                  &a, why, sizeof why));
    CHECK(a.type == TOCSIN_RECEIVER_EMAIL);
    CHECK_STR(a.url, "smtps://mail.example.com:465");
    CHECK_STR(a.user, "alerts");
    CHECK_STR(a.password, "pw");
    CHECK_STR(a.from, "alerts@mail.example.com");
    CHECK_STR(a.to, "a@example.com,b@example.com");
    tocsin_apprise_fini(&a);
    CHECK_OK(tocsin_apprise_parse("mailto://me:pw@example.com:2525", &a, why,
                                  sizeof why));
    CHECK_STR(a.url, "smtp://example.com:2525");
    CHECK_STR(a.to, "me@example.com");
    tocsin_apprise_fini(&a);
    CHECK_ERR(
        tocsin_apprise_parse("mailto://h/not-an-address", &a, why, sizeof why),
        TOCSIN_EINVAL);
    char red[256];
    struct tocsin_receiver_config r = {.type = TOCSIN_RECEIVER_EMAIL};
    CHECK_STR(tocsin_receiver_redact(&r, "mailtos://u:secretpw@h/x@y", red,
                                     sizeof red),
              "mailtos://REDACTED");
    CHECK_STR(
        tocsin_receiver_redact(&r, "smtp://u:secretpw@h:587", red, sizeof red),
        "smtp://h:587");
}

/* ---- fcm ---- */

static char *
service_account(const char *token_uri)
{
    json_t *o = json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:s}", "type", "service_account",
        "project_id", "tocsin-test", "private_key_id", "kid-1", "private_key",
        rsa_pem, "client_email", "tocsin@tocsin-test.iam.gserviceaccount.com",
        "token_uri", token_uri);
    char *s = json_dumps(o, 0);
    json_decref(o);
    return s;
}

/* The value of form field name in a urlencoded body (no decoding). */
static char *
form_field(const char *body, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = body; p && *p; p = strchr(p, '&'), p = p ? p + 1 : p)
        if (strncmp(p, name, n) == 0 && p[n] == '=')
            return strndup(p + n + 1, strcspn(p + n + 1, "&"));
    return NULL;
}

static void
test_fcm_token_then_send(void)
{
    keys_up();
    tocsin_tokcache_clear();
    char *body = make_body(0, "critical");
    char *sa = service_account("http://127.0.0.1:1/token");
    REQUIRE(body && sa);
    struct tocsin_receiver_config r;
    memset(&r, 0, sizeof r);
    r.name = "fcm";
    r.type = TOCSIN_RECEIVER_FCM;
    r.url = "http://127.0.0.1:2";
    r.key = sa;
    r.device = "dev-token-1";
    r.ttl_s = 3600;
    /* No token yet: step 0 is the token exchange. */
    struct tocsin_request *q = build_at(&r, body, NOW);
    REQUIRE(q);
    CHECK(q->aux == 1);
    CHECK_STR(q->url, "http://127.0.0.1:1/token");
    CHECK_STR(tocsin_test_header(q, "Content-Type"),
              "application/x-www-form-urlencoded");
    char *gt = form_field(q->body, "grant_type");
    CHECK_STR(gt, "urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer");
    free(gt);
    char *jwt = form_field(q->body, "assertion");
    json_t *h = NULL, *c = NULL;
    CHECK(jwt && jwt_verify(jwt, rsa_key, &h, &c));
    CHECK_STR(json_string_value(json_object_get(h, "alg")), "RS256");
    CHECK_STR(json_string_value(json_object_get(h, "kid")), "kid-1");
    CHECK_STR(json_string_value(json_object_get(c, "iss")),
              "tocsin@tocsin-test.iam.gserviceaccount.com");
    CHECK_STR(json_string_value(json_object_get(c, "scope")),
              "https://www.googleapis.com/auth/firebase.messaging");
    CHECK_STR(json_string_value(json_object_get(c, "aud")),
              "http://127.0.0.1:1/token");
    CHECK(json_integer_value(json_object_get(c, "iat")) == NOW / 1000);
    CHECK(json_integer_value(json_object_get(c, "exp")) == NOW / 1000 + 3600);
    json_decref(h);
    json_decref(c);
    free(jwt);
    tocsin_request_free(q);
    /* A bad answer is refused; a good one is kept. */
    CHECK_ERR(tocsin_receiver_absorb(&r, body, strlen(body), 0, "{}", 2, NOW),
              TOCSIN_EPROTO);
    const char *ans = "{\"access_token\":\"ya29.AAA\",\"expires_in\":3599,"
                      "\"token_type\":\"Bearer\"}";
    CHECK_OK(tocsin_receiver_absorb(&r, body, strlen(body), 0, ans, strlen(ans),
                                    NOW));
    q = build_at(&r, body, NOW + 1000);
    REQUIRE(q);
    CHECK(q->aux == 0);
    CHECK_STR(q->url,
              "http://127.0.0.1:2/v1/projects/tocsin-test/messages:send");
    CHECK_STR(tocsin_test_header(q, "Authorization"), "Bearer ya29.AAA");
    json_t *b = json_loadb(q->body, q->body_len, 0, NULL);
    json_t *msg = json_object_get(b, "message");
    CHECK_STR(json_string_value(json_object_get(msg, "token")), "dev-token-1");
    CHECK(json_object_get(msg, "topic") == NULL);
    CHECK(strstr(json_string_value(json_object_get(
                     json_object_get(msg, "notification"), "title")),
                 "AirNova"));
    json_t *android = json_object_get(msg, "android");
    CHECK_STR(json_string_value(json_object_get(android, "priority")), "high");
    CHECK_STR(json_string_value(json_object_get(android, "ttl")), "3600s");
    json_t *ah = json_object_get(json_object_get(msg, "apns"), "headers");
    CHECK_STR(json_string_value(json_object_get(ah, "apns-priority")), "10");
    CHECK_STR(json_string_value(json_object_get(ah, "apns-collapse-id")), FP);
    CHECK_STR(json_string_value(
                  json_object_get(json_object_get(msg, "data"), "fingerprint")),
              FP);
    json_decref(b);
    tocsin_request_free(q);
    /* Five minutes before it expires, the token is fetched again. */
    q = build_at(&r, body, NOW + (3599 - 299) * 1000LL);
    CHECK(q && q->aux == 1);
    tocsin_request_free(q);
    /* A token living less than twice the margin is refreshed at half its
     * life. */
    const char *shortans = "{\"access_token\":\"ya29.BBB\",\"expires_in\":60}";
    CHECK_OK(tocsin_receiver_absorb(&r, body, strlen(body), 0, shortans,
                                    strlen(shortans), NOW));
    q = build_at(&r, body, NOW + 29000);
    CHECK(q && q->aux == 0 &&
          strcmp(tocsin_test_header(q, "Authorization"), "Bearer ya29.BBB") ==
              0);
    tocsin_request_free(q);
    q = build_at(&r, body, NOW + 31000);
    CHECK(q && q->aux == 1);
    tocsin_request_free(q);
    CHECK_OK(tocsin_receiver_absorb(&r, body, strlen(body), 0, ans, strlen(ans),
                                    NOW));
    /* A 401 drops it at once. */
    q = build_at(&r, body, NOW + 2000);
    CHECK(q && q->aux == 0);
    tocsin_request_free(q);
    CHECK(tocsin_receiver_verdict(&r, 0, 401, "", 0, NULL) ==
          TOCSIN_VERDICT_RETRY);
    q = build_at(&r, body, NOW + 2000);
    CHECK(q && q->aux == 1);
    tocsin_request_free(q);
    /* 404 UNREGISTERED: given up with the reason. */
    const char *nf = "{\"error\":{\"code\":404,\"status\":\"NOT_FOUND\","
                     "\"details\":[{\"errorCode\":\"UNREGISTERED\"}]}}";
    CHECK(tocsin_receiver_verdict(&r, 0, 404, nf, strlen(nf), NULL) ==
          TOCSIN_VERDICT_FAIL);
    char why[128];
    CHECK(tocsin_receiver_reason(&r, 404, nf, strlen(nf), why, sizeof why));
    CHECK(strstr(why, "UNREGISTERED"));
    free(sa);
    free(body);
}

/* ---- apns ---- */

static void
test_apns_request_and_token_life(void)
{
    keys_up();
    tocsin_tokcache_clear();
    char *body = make_body(0, "critical");
    REQUIRE(body);
    struct tocsin_receiver_config r;
    memset(&r, 0, sizeof r);
    r.name = "apns";
    r.type = TOCSIN_RECEIVER_APNS;
    r.url = "http://127.0.0.1:3";
    r.key = ec_pem;
    r.key_id = "ABC123DEFG";
    r.team_id = "DEF123GHIJ";
    r.topic = "com.example.oncall";
    r.device = "aabbcc";
    r.ttl_s = 600;
    struct tocsin_request *q = build_at(&r, body, NOW);
    REQUIRE(q);
    CHECK(q->http2 == 1);
    CHECK_STR(q->url, "http://127.0.0.1:3/3/device/aabbcc");
    CHECK_STR(tocsin_test_header(q, "apns-topic"), "com.example.oncall");
    CHECK_STR(tocsin_test_header(q, "apns-push-type"), "alert");
    CHECK_STR(tocsin_test_header(q, "apns-priority"), "10");
    CHECK_STR(tocsin_test_header(q, "apns-collapse-id"), FP);
    char exp[32];
    snprintf(exp, sizeof exp, "%lld", NOW / 1000 + 600);
    CHECK_STR(tocsin_test_header(q, "apns-expiration"), exp);
    const char *auth = tocsin_test_header(q, "authorization");
    REQUIRE(auth && strncmp(auth, "bearer ", 7) == 0);
    char *tok1 = strdup(auth + 7);
    json_t *h = NULL, *c = NULL;
    CHECK(jwt_verify(tok1, ec_key, &h, &c));
    CHECK_STR(json_string_value(json_object_get(h, "kid")), "ABC123DEFG");
    CHECK_STR(json_string_value(json_object_get(c, "iss")), "DEF123GHIJ");
    CHECK(json_integer_value(json_object_get(c, "iat")) == NOW / 1000);
    json_decref(h);
    json_decref(c);
    json_t *b = json_loadb(q->body, q->body_len, 0, NULL);
    json_t *aps = json_object_get(b, "aps");
    CHECK_STR(json_string_value(json_object_get(aps, "interruption-level")),
              "time-sensitive");
    CHECK_STR(json_string_value(json_object_get(aps, "sound")), "default");
    CHECK(strstr(json_string_value(
                     json_object_get(json_object_get(aps, "alert"), "title")),
                 "AirNova"));
    json_decref(b);
    tocsin_request_free(q);
    /* Reused for 20 minutes and more, signed again after 50. */
    q = build_at(&r, body, NOW + 21 * 60000LL);
    REQUIRE(q);
    CHECK_STR(bearer(q), tok1);
    tocsin_request_free(q);
    q = build_at(&r, body, NOW + 51 * 60000LL);
    REQUIRE(q);
    CHECK(strcmp(bearer(q), tok1) != 0);
    char *tok2 = strdup(bearer(q));
    tocsin_request_free(q);
    /* ExpiredProviderToken: retried with a new token. */
    const char *ex = "{\"reason\":\"ExpiredProviderToken\"}";
    CHECK(tocsin_receiver_verdict(&r, 0, 403, ex, strlen(ex), NULL) ==
          TOCSIN_VERDICT_RETRY);
    q = build_at(&r, body, NOW + 52 * 60000LL);
    REQUIRE(q);
    CHECK(strcmp(bearer(q), tok2) != 0);
    tocsin_request_free(q);
    /* 410 Unregistered: given up, with a clear reason; 429 retried. */
    const char *gone = "{\"reason\":\"Unregistered\",\"timestamp\":1}";
    CHECK(tocsin_receiver_verdict(&r, 0, 410, gone, strlen(gone), NULL) ==
          TOCSIN_VERDICT_FAIL);
    char why[128];
    CHECK(tocsin_receiver_reason(&r, 410, gone, strlen(gone), why, sizeof why));
    CHECK(strstr(why, "device token no longer active") &&
          strstr(why, "Unregistered"));
    CHECK(tocsin_receiver_verdict(&r, 0, 429, "", 0, NULL) ==
          TOCSIN_VERDICT_RETRY);
    /* critical = true: interruption-level critical, critical sound. */
    r.critical = 1;
    q = build_at(&r, body, NOW);
    REQUIRE(q);
    b = json_loadb(q->body, q->body_len, 0, NULL);
    aps = json_object_get(b, "aps");
    CHECK_STR(json_string_value(json_object_get(aps, "interruption-level")),
              "critical");
    CHECK(json_integer_value(
              json_object_get(json_object_get(aps, "sound"), "critical")) == 1);
    json_decref(b);
    tocsin_request_free(q);
    free(tok1);
    free(tok2);
    free(body);
}

/* ---- webpush ---- */

static void
test_webpush_request(void)
{
    keys_up();
    char *body = make_body(0, "critical");
    char *resolved = make_body(1, "critical");
    REQUIRE(body && resolved);
    struct tocsin_receiver_config r;
    memset(&r, 0, sizeof r);
    r.name = "wp";
    r.type = TOCSIN_RECEIVER_WEBPUSH;
    r.url = "https://push.example.net:8443/wpush/v2/abcdef";
    r.p256dh = "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjy"
               "Pjs7Vd8pZGH6SRpkNtoIAiw4";
    r.auth = "BTBZMqHH6r4Tts7J_aSIgg";
    r.key = ec_pem;
    r.subject = "mailto:ops@example.com";
    r.ttl_s = 3600;
    struct tocsin_request *q = build_at(&r, body, NOW);
    REQUIRE(q);
    CHECK_STR(q->url, r.url);
    CHECK_STR(tocsin_test_header(q, "TTL"), "3600");
    CHECK_STR(tocsin_test_header(q, "Urgency"), "high");
    CHECK_STR(tocsin_test_header(q, "Topic"), FP);
    CHECK_STR(tocsin_test_header(q, "Content-Encoding"), "aes128gcm");
    const char *a = tocsin_test_header(q, "Authorization");
    REQUIRE(a && strncmp(a, "vapid t=", 8) == 0);
    const char *k = strstr(a, ", k=");
    REQUIRE(k);
    char *jwt = strndup(a + 8, (size_t)(k - a - 8));
    json_t *h = NULL, *c = NULL;
    CHECK(jwt_verify(jwt, ec_key, &h, &c));
    CHECK_STR(json_string_value(json_object_get(c, "aud")),
              "https://push.example.net:8443");
    CHECK_STR(json_string_value(json_object_get(c, "sub")),
              "mailto:ops@example.com");
    CHECK(json_integer_value(json_object_get(c, "exp")) ==
          NOW / 1000 + 12 * 3600);
    json_decref(h);
    json_decref(c);
    free(jwt);
    unsigned char pub[65];
    CHECK_OK(tocsin_p256_public(ec_pem, pub));
    char *k64 = tocsin_b64url_encode(pub, 65);
    CHECK_STR(k + 4, k64);
    free(k64);
    /* Header: salt, rs 4096, idlen 65, the sender key; then one record. */
    REQUIRE(q->body_len > TOCSIN_ECE_HEADER_LEN + 17);
    const unsigned char *p = (const unsigned char *)q->body;
    CHECK(p[16] == 0 && p[17] == 0 && p[18] == 0x10 && p[19] == 0 &&
          p[20] == 65 && p[21] == 4);
    tocsin_request_free(q);
    q = build_at(&r, resolved, NOW);
    REQUIRE(q);
    CHECK_STR(tocsin_test_header(q, "Urgency"), "low");
    tocsin_request_free(q);
    char why[128], red[256];
    /* The endpoint's path is a capability: logs show the host only. */
    CHECK_STR(tocsin_receiver_redact(&r, r.url, red, sizeof red),
              "https://push.example.net:8443/REDACTED");
    CHECK(tocsin_receiver_verdict(&r, 0, 410, "", 0, NULL) ==
          TOCSIN_VERDICT_FAIL);
    CHECK(tocsin_receiver_verdict(&r, 0, 404, "", 0, NULL) ==
          TOCSIN_VERDICT_FAIL);
    CHECK(tocsin_receiver_reason(&r, 410, "", 0, why, sizeof why) &&
          strstr(why, "subscription gone"));
    CHECK(tocsin_receiver_verdict(&r, 0, 503, "", 0, NULL) ==
          TOCSIN_VERDICT_RETRY);
    free(body);
    free(resolved);
}

/* ---- config ---- */

static char *
write_tmp(const char *dir, const char *name, const char *text)
{
    char *path = malloc(strlen(dir) + strlen(name) + 2);
    sprintf(path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
    return path;
}

static void
test_config_push_types(void)
{
    keys_up();
    char tmpl[] = "/tmp/tocsin-push-test-XXXXXX";
    char *dir = mkdtemp(tmpl);
    REQUIRE(dir);
    char *sa = service_account("https://oauth2.googleapis.com/token");
    free(write_tmp(dir, "sa.json", sa));
    free(write_tmp(dir, "apns.p8", ec_pem));
    free(write_tmp(dir, "vapid.pem", ec_pem));
    free(write_tmp(dir, "smtp.pw", "hunter2\n"));
    char *conf = write_tmp(
        dir, "t.conf",
        "receivers = (\n"
        " { name = \"mail\"; type = \"email\"; url = \"smtp://127.0.0.1:25\";"
        "   from = \"Tocsin <t@example.com>\"; to = [\"a@example.com\"];"
        "   user = \"t\"; password_file = \"smtp.pw\"; starttls = false; },\n"
        " { name = \"mail2\"; url = \"mailtos://me:pw@example.com/x@y.z\"; },\n"
        " { name = \"fcm\"; type = \"fcm\"; service_account_file = \"sa.json\";"
        "   topic = \"oncall\"; },\n"
        " { name = \"apns\"; type = \"apns\"; key_file = \"apns.p8\";"
        "   key_id = \"K\"; team_id = \"T\"; topic = \"com.example.app\";"
        "   device = \"00ff\"; critical = true; ttl = 600; },\n"
        " { name = \"wp\"; type = \"webpush\";"
        "   url = \"https://fcm.googleapis.com/fcm/send/abc\";"
        "   p256dh = \"BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvT"
        "BHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4\"; auth = \"BTBZMqHH6r4Tts7J_aSIgg\";"
        "   vapid_key_file = \"vapid.pem\";"
        "   vapid_subject = \"mailto:ops@example.com\"; }\n"
        ");\n");
    struct tocsin_config *cfg = NULL;
    struct tocsin_errbuf eb = {0};
    CHECK_OK(tocsin_config_load(&cfg, conf, &eb));
    if (eb.text)
        fprintf(stderr, "%s", eb.text);
    tocsin_errbuf_clear(&eb);
    REQUIRE(cfg);
    const struct tocsin_receiver_config *r =
        tocsin_config_receiver(cfg, "mail");
    CHECK(r && r->type == TOCSIN_RECEIVER_EMAIL && r->nto == 1 &&
          r->starttls == 0);
    CHECK_STR(r->password, "hunter2");
    r = tocsin_config_receiver(cfg, "mail2");
    CHECK(r && r->type == TOCSIN_RECEIVER_EMAIL && r->nto == 1 &&
          r->starttls == 1);
    CHECK_STR(r->url, "smtps://example.com:465");
    CHECK_STR(r->from, "me@example.com");
    CHECK_STR(r->to[0], "x@y.z");
    r = tocsin_config_receiver(cfg, "fcm");
    CHECK(r && r->type == TOCSIN_RECEIVER_FCM && r->ttl_s == 86400);
    r = tocsin_config_receiver(cfg, "apns");
    CHECK(r && r->critical == 1 && r->ttl_s == 600);
    r = tocsin_config_receiver(cfg, "wp");
    CHECK(r && r->type == TOCSIN_RECEIVER_WEBPUSH);
    tocsin_config_free(cfg);
    free(conf);

    /* Errors, each with its line. */
    const struct {
        const char *text, *want;
    } bad[] = {
        {"receivers = ( { name = \"m\"; type = \"email\";\n"
         " url = \"http://h/\"; from = \"a@b\"; to = [\"c@d\"]; } );\n",
         "t.conf:2: receivers[0].url: an email receiver needs an smtp:// or "
         "smtps:// URL\n"},
        {"receivers = ( { name = \"m\"; type = \"webhook\";\n"
         " url = \"smtp://h\"; } );\n",
         "t.conf:2: receivers[0].url: smtp URLs are for type email\n"},
        {"receivers = ( { name = \"m\"; type = \"email\";\n"
         " url = \"smtp://h\"; to = [\"c@d\"]; } );\n",
         "t.conf:1: receivers[0]: missing required key \"from\"\n"},
        {"receivers = ( { name = \"w\"; type = \"webpush\"; url = "
         "\"https://h/x\";\n p256dh = \"AAAA\"; auth = "
         "\"BTBZMqHH6r4Tts7J_aSIgg\";"
         " vapid_key_file = \"vapid.pem\";\n vapid_subject = \"ops\"; } );\n",
         "t.conf:2: receivers[0].p256dh: not a base64url P-256 public key (65 "
         "bytes)\nt.conf:3: receivers[0].vapid_subject: must start with "
         "mailto: or https://\n"},
        {"receivers = ( { name = \"a\"; type = \"apns\";\n key_file = "
         "\"smtp.pw\"; key_id = \"K\"; team_id = \"T\"; topic = \"x\";"
         " device = \"d\"; } );\n",
         "t.conf:2: receivers[0].key_file: not a P-256 private key in PEM "
         "(the .p8 file Apple gives)\n"},
        {"receivers = ( { name = \"f\"; type = \"fcm\";\n"
         " service_account_file = \"smtp.pw\"; device = \"d\"; } );\n",
         NULL},
        {"receivers = ( { name = \"s\"; type = \"slack\";"
         " url = \"https://h/x\";\n p256dh = \"x\"; } );\n",
         "t.conf:2: receivers[0].p256dh: not used by type slack\n"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        conf = write_tmp(dir, "t.conf", bad[i].text);
        cfg = NULL;
        tocsin_err e = tocsin_config_load(&cfg, conf, &eb);
        CHECK(e == TOCSIN_ECONFIG && cfg == NULL);
        /* Messages carry the full path of the file: drop the directory. */
        char got[2048] = "";
        size_t gl = 0, dl = strlen(dir);
        for (const char *p = eb.text ? eb.text : "";
             *p && gl + 1 < sizeof got;) {
            if (strncmp(p, dir, dl) == 0 && p[dl] == '/') {
                p += dl + 1;
                continue;
            }
            got[gl++] = *p++;
        }
        got[gl] = '\0';
        if (bad[i].want && strcmp(got, bad[i].want) != 0) {
            fprintf(stderr, "case %zu: got\n%s-- wanted\n%s--\n", i,
                    eb.text ? eb.text : "(none)\n", bad[i].want);
            tocsin_test_failed_checks++;
        } else if (!bad[i].want && !strstr(got, "not JSON")) {
            fprintf(stderr, "case %zu: got\n%s", i, eb.text ? eb.text : "");
            tocsin_test_failed_checks++;
        }
        tocsin_errbuf_clear(&eb);
        tocsin_config_free(cfg);
        free(conf);
    }
    free(sa);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
}

static void
test_cleanup(void)
{
    tocsin_tokcache_clear();
    EVP_PKEY_free(ec_key);
    EVP_PKEY_free(rsa_key);
    free(ec_pem);
    free(rsa_pem);
    ec_key = rsa_key = NULL;
}

TOCSIN_TESTS(TOCSIN_TEST(test_b64url), TOCSIN_TEST(test_rfc8291_vector),
             TOCSIN_TEST(test_jwt_es256_rs256), TOCSIN_TEST(test_tokcache),
             TOCSIN_TEST(test_email_request), TOCSIN_TEST(test_mailto_urls),
             TOCSIN_TEST(test_fcm_token_then_send),
             TOCSIN_TEST(test_apns_request_and_token_life),
             TOCSIN_TEST(test_webpush_request),
             TOCSIN_TEST(test_config_push_types), TOCSIN_TEST(test_cleanup));
