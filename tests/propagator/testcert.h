/*
 * testcert.h - test-only certificates minted with libcrypto for the store and
 * certutil tests (serial, subject CN, e-mail, UPN SAN).  Not the project's PKI.
 */
#ifndef SCL_TESTCERT_H
#define SCL_TESTCERT_H

#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tc_spec {
    const uint8_t *serial; /* big-endian magnitude; NULL = 01 */
    size_t serial_len;
    const char *cn;
    const char *email; /* SAN rfc822Name, or NULL */
    const char *email_rdn; /* emailAddress RDN, or NULL */
    const char *upn;   /* SAN otherName msUPN, or NULL */
    bool self_signed;
    EVP_PKEY *key;     /* NULL = a fresh P-256 key */
};

/* DER certificate (malloc'd) or NULL. */
uint8_t *tc_make_cert(const struct tc_spec *s, size_t *len);
EVP_PKEY *tc_rsa_key(void);
EVP_PKEY *tc_ec_key(void);
/* The story's certificate: RSA-2048, serial 05 05 1c 00 22 7f 3c dd fa 98,
 * CN "Firstname Lastname", UPN firstname.lastname@example.test. */
uint8_t *tc_story_cert(size_t *len);
extern const uint8_t tc_story_serial[10];

#endif
