/*
 * jose.h: the cryptography of the push receivers, all through OpenSSL:
 * base64 and base64url, JSON Web Tokens signed RS256 (FCM service
 * accounts) or ES256 (APNs provider tokens, Web Push VAPID), and the Web
 * Push message encryption of RFC 8291 (ECDH P-256 + HKDF-SHA-256,
 * aes128gcm content coding of RFC 8188, one record).
 *
 * Pure functions over the keys they are given (PEM text, raw bytes); they
 * own nothing past the buffers they return (free() them).  Thread-safe.
 */
#ifndef TOCSIN_JOSE_H
#define TOCSIN_JOSE_H

#include <stddef.h>

#include "tocsin/err.h"

#define TOCSIN_P256_PUBLIC_LEN 65 /* uncompressed point 0x04 || X || Y */
#define TOCSIN_ECE_SALT_LEN    16
#define TOCSIN_ECE_AUTH_LEN    16
#define TOCSIN_ECE_RS          4096 /* record size we declare */
#define TOCSIN_ECE_HEADER_LEN  (16 + 4 + 1 + TOCSIN_P256_PUBLIC_LEN)
/* The largest plaintext that fits one 4096-byte record (with the 0x02
 * delimiter and the 16-byte tag), header excluded. */
#define TOCSIN_ECE_MAX_PLAIN (TOCSIN_ECE_RS - 16 - 1)

/* base64url without padding, as a new string; NULL when out of memory. */
char *tocsin_b64url_encode(const unsigned char *p, size_t n);

/* Standard base64 with padding, as a new string; NULL when out of memory. */
char *tocsin_b64_encode(const unsigned char *p, size_t n);

/*
 * Decode base64url or standard base64, padded or not (white space is not
 * allowed).  *out (free()) and *n are written only on success;
 * TOCSIN_EINVAL when s is not base64.
 */
tocsin_err tocsin_b64url_decode(const char *s, unsigned char **out, size_t *n);

/*
 * A compact JWT: base64url(header).base64url(claims).base64url(signature)
 * with header {"alg":alg,"typ":"JWT"[,"kid":kid]}.  alg is "RS256" (an RSA
 * key) or "ES256" (a P-256 key; the signature is r||s, 64 bytes).
 * pem_key is a PEM private key (PKCS#8 or traditional); claims_json the
 * claims as compact JSON.  *out (free()) written only on success;
 * TOCSIN_EINVAL when the key cannot be read or does not fit alg.
 */
tocsin_err tocsin_jwt_sign(char **out, const char *alg, const char *kid,
                           const char *claims_json, const char *pem_key);

/* Check that pem_key is a private key usable for alg ("RS256"/"ES256"). */
tocsin_err tocsin_jwt_key_check(const char *alg, const char *pem_key);

/* The uncompressed public point of a P-256 PEM private key (VAPID "k"). */
tocsin_err tocsin_p256_public(const char *pem_key,
                              unsigned char out[TOCSIN_P256_PUBLIC_LEN]);

/*
 * RFC 8291 encryption of plain[0..n) for a subscription (ua_public, the
 * p256dh key, and its auth secret): the aes128gcm body, header (salt, rs
 * 4096, the sender's public key as key id) then one record.  as_private
 * (32 bytes) and salt (16) fix the sender key and salt for test vectors;
 * NULL picks fresh random ones, as every real message must.  *out
 * (free()) and *outlen written only on success; TOCSIN_ERANGE when plain
 * is longer than TOCSIN_ECE_MAX_PLAIN; TOCSIN_EINVAL for a bad key.
 */
tocsin_err tocsin_ece_encrypt(unsigned char **out, size_t *outlen,
                              const unsigned char *plain, size_t n,
                              const unsigned char *ua_public,
                              size_t ua_public_len, const unsigned char *auth,
                              size_t auth_len, const unsigned char *as_private,
                              const unsigned char *salt);

#endif
