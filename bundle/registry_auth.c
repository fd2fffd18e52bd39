/* Registry credentials and WWW-Authenticate challenges.  No heavy library:
 * the auth files are JSON (the olrun tree) and base64 is a few lines. */
#include <fcntl.h>
#include <string.h>

#include "bundle/internal.h"
#include "olrun/json.h"
#include "olrun/util.h"

static int
b64_value (int c)
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

/* Decode base64 (padding optional); NULL on bad input. */
static char *
b64_decode (const char *s)
{
  size_t n = strlen (s);
  char *out = xmalloc (n + 1);
  size_t len = 0;
  unsigned acc = 0;
  int bits = 0;
  for (; *s && *s != '='; s++)
    {
      int v = b64_value ((unsigned char) *s);
      if (v < 0)
        {
          free (out);
          return NULL;
        }
      acc = (acc << 6) | (unsigned) v;
      bits += 6;
      if (bits >= 8)
        {
          bits -= 8;
          out[len++] = (char) ((acc >> bits) & 0xff);
        }
    }
  out[len] = '\0';
  return out;
}

/* An auths key matches "host" whatever its scheme or path: docker writes
 * "https://index.docker.io/v1/" for Hub, podman writes "host:port". */
static bool
key_matches (const char *key, const char *host)
{
  const char *k = strstr (key, "://") ? strstr (key, "://") + 3 : key;
  size_t hl = strlen (host);
  if (strncmp (k, host, hl) == 0 && (k[hl] == '\0' || k[hl] == '/'))
    return true;
  return strcmp (host, "docker.io") == 0 && strncmp (k, "index.docker.io", 15) == 0;
}

static int
lookup_file (const char *path, const char *host, char **ret, olrun_error_t *err)
{
  _cleanup_json_doc_ olrun_json_doc_t *doc = NULL;
  int fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return errno == ENOENT ? 0 : olrun_fail (err, errno, "auth file `%s`", path);
  close (fd);
  if (olrun_json_parse_file (AT_FDCWD, path, &doc, err) < 0)
    return -1;
  const olrun_json_t *auths = olrun_json_get (olrun_json_root (doc), "auths");
  for (size_t i = 0; auths && auths->type == OLRUN_JSON_OBJECT && i < auths->u.object.len; i++)
    {
      if (!key_matches (auths->u.object.keys[i], host))
        continue;
      const olrun_json_t *a = olrun_json_get (auths->u.object.values[i], "auth");
      if (a == NULL || a->type != OLRUN_JSON_STRING)
        continue;
      char *dec = b64_decode (a->u.string.str);
      if (dec == NULL || strchr (dec, ':') == NULL)
        {
          free (dec);
          return olrun_invalid (err, "auth file `%s`: auths.%s.auth is not base64 of USER:PASSWORD", path,
                                auths->u.object.keys[i]);
        }
      *ret = dec;
      return 1;
    }
  return 0;
}

int
registry_credentials (const char *auth_file, const char *host, char **ret, olrun_error_t *err)
{
  *ret = NULL;
  if (auth_file)
    return lookup_file (auth_file, host, ret, err) < 0 ? -1 : 0;
  _cleanup_free_ char *xdg = NULL, *docker = NULL;
  const char *env = getenv ("REGISTRY_AUTH_FILE");
  const char *rt = getenv ("XDG_RUNTIME_DIR");
  const char *home = getenv ("HOME");
  if (rt && *rt)
    xdg = xasprintf ("%s/containers/auth.json", rt);
  if (home && *home)
    docker = xasprintf ("%s/.docker/config.json", home);
  const char *files[] = { env && *env ? env : NULL, xdg, docker };
  for (size_t i = 0; i < ARRAY_SIZE (files); i++)
    {
      if (files[i] == NULL)
        continue;
      int r = lookup_file (files[i], host, ret, err);
      if (r != 0)
        return r < 0 ? -1 : 0;
    }
  return 0;
}

void
auth_challenge_clear (struct auth_challenge *c)
{
  free (c->realm);
  free (c->service);
  free (c->scope);
  memset (c, 0, sizeof *c);
}

void
auth_challenge_parse (const char *h, struct auth_challenge *c)
{
  memset (c, 0, sizeof *c);
  while (*h == ' ')
    h++;
  if (strncasecmp (h, "Basic", 5) == 0)
    {
      c->basic = true;
      return;
    }
  if (strncasecmp (h, "Bearer", 6) != 0)
    return;
  c->bearer = true;
  const char *p = h + 6;
  while (*p)
    {
      while (*p == ' ' || *p == ',')
        p++;
      const char *eq = strchr (p, '=');
      if (eq == NULL)
        break;
      _cleanup_free_ char *key = xstrndup (p, (size_t) (eq - p));
      p = eq + 1;
      struct olrun_buf v = { 0 };
      if (*p == '"')
        {
          for (p++; *p && *p != '"'; p++)
            {
              if (*p == '\\' && p[1])
                p++;
              olrun_buf_append (&v, p, 1);
            }
          if (*p == '"')
            p++;
        }
      else
        for (; *p && *p != ','; p++)
          olrun_buf_append (&v, p, 1);
      char **slot = strcasecmp (key, "realm") == 0     ? &c->realm
                    : strcasecmp (key, "service") == 0 ? &c->service
                    : strcasecmp (key, "scope") == 0   ? &c->scope
                                                       : NULL;
      if (slot)
        {
          free (*slot);
          *slot = olrun_buf_steal (&v);
        }
      else
        olrun_buf_free (&v);
    }
}

char *
url_escape (const char *s)
{
  struct olrun_buf b = { 0 };
  for (const unsigned char *p = (const unsigned char *) s; *p; p++)
    {
      if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || strchr ("-._~", *p))
        olrun_buf_append (&b, p, 1);
      else
        olrun_buf_printf (&b, "%%%02X", *p);
    }
  return olrun_buf_steal (&b);
}
