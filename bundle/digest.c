/* SHA-256 through libcrypto (2.7x faster than coreutils here, with SHA-NI),
 * and the digest strings that double as cache file names. */
#include <string.h>

#include "bundle/dl.h"
#include "bundle/internal.h"
#include "olrun/util.h"

int
sha256_init (struct sha256 *h, olrun_error_t *err)
{
  if (olrun_dl_load (OLRUN_DL_CRYPTO, err) < 0)
    return -1;
  EVP_MD_CTX *ctx = sym_EVP_MD_CTX_new ();
  if (ctx == NULL)
    abort ();
  if (sym_EVP_DigestInit_ex (ctx, sym_EVP_sha256 (), NULL) != 1)
    {
      sym_EVP_MD_CTX_free (ctx);
      return olrun_fail (err, 0, "libcrypto: cannot initialise SHA-256");
    }
  h->ctx = ctx;
  return 0;
}

void
sha256_update (struct sha256 *h, const void *data, size_t len)
{
  /* EVP_DigestUpdate only fails on a broken context, never on data. */
  sym_EVP_DigestUpdate (h->ctx, data, len);
}

void
sha256_final (struct sha256 *h, char out[DIGEST_LEN + 1])
{
  unsigned char md[32];
  unsigned int n = 0;
  sym_EVP_DigestFinal_ex (h->ctx, md, &n);
  static const char hex[] = "0123456789abcdef";
  memcpy (out, DIGEST_PREFIX, 7);
  for (size_t i = 0; i < 32; i++)
    {
      out[7 + 2 * i] = hex[md[i] >> 4];
      out[7 + 2 * i + 1] = hex[md[i] & 15];
    }
  out[DIGEST_LEN] = '\0';
}

void
sha256_free (struct sha256 *h)
{
  if (h->ctx)
    sym_EVP_MD_CTX_free (h->ctx);
  h->ctx = NULL;
}

int
sha256_buffer (const void *data, size_t len, char out[DIGEST_LEN + 1], olrun_error_t *err)
{
  struct sha256 h = { 0 };
  if (sha256_init (&h, err) < 0)
    return -1;
  sha256_update (&h, data, len);
  sha256_final (&h, out);
  sha256_free (&h);
  return 0;
}

bool
digest_valid (const char *d)
{
  if (d == NULL || strncmp (d, DIGEST_PREFIX, 7) != 0 || strlen (d) != DIGEST_LEN)
    return false;
  for (const char *p = d + 7; *p; p++)
    if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
      return false;
  return true;
}

int
digest_check (const char *d, const char *what, olrun_error_t *err)
{
  if (digest_valid (d))
    return 0;
  if (d && strchr (d, ':') && strncmp (d, DIGEST_PREFIX, 7) != 0)
    return olrun_error_set (err, OLRUN_E_UNSUPPORTED, 0, "%s: digest algorithm of `%s` is not supported (only sha256)",
                            what, d);
  return olrun_invalid (err, "%s: invalid digest `%s`", what, d ? d : "(none)");
}

uint64_t
fnv1a64 (const char *s)
{
  uint64_t h = 0xcbf29ce484222325ULL;
  for (; *s; s++)
    {
      h ^= (unsigned char) *s;
      h *= 0x100000001b3ULL;
    }
  return h;
}
