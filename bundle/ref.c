/* Image references: the four transports, and docker's short names. */
#include <limits.h>
#include <string.h>
#include <sys/stat.h>

#include "bundle/internal.h"
#include "olrun/util.h"

void
image_ref_clear (struct image_ref *r)
{
  free (r->path);
  free (r->tag);
  free (r->digest);
  free (r->registry);
  free (r->repo);
  free (r->display);
  memset (r, 0, sizeof *r);
}

static char *
absolute (const char *p)
{
  if (p[0] == '/')
    return xstrdup (p);
  char cwd[PATH_MAX];
  if (getcwd (cwd, sizeof cwd) == NULL)
    return xstrdup (p);
  return xasprintf ("%s/%s", cwd, p);
}

/* A tag as docker accepts it: [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}. */
static bool
tag_valid (const char *t)
{
  size_t n = strlen (t);
  if (n == 0 || n > 128 || t[0] == '.' || t[0] == '-')
    return false;
  for (; *t; t++)
    if (!((*t >= 'a' && *t <= 'z') || (*t >= 'A' && *t <= 'Z') || (*t >= '0' && *t <= '9') || strchr ("_.-", *t)))
      return false;
  return true;
}

/* oci:DIR[:TAG|@DIGEST] and oci-archive:FILE[:TAG].  The suffix is looked for
 * only after the last '/', so directories named with ':' higher up work. */
static int
parse_path_ref (const char *what, const char *s, bool allow_digest, struct image_ref *r, olrun_error_t *err)
{
  _cleanup_free_ char *p = xstrdup (s);
  char *last = strrchr (p, '/');
  char *base = last ? last + 1 : p;
  char *at = allow_digest ? strchr (base, '@') : NULL;
  if (at)
    {
      *at = '\0';
      if (digest_check (at + 1, what, err) < 0)
        return -1;
      r->digest = xstrdup (at + 1);
    }
  else if ((at = strchr (base, ':')) != NULL)
    {
      *at = '\0';
      /* OCI ref names are looser than docker tags; refuse only the empty one. */
      if (at[1] == '\0')
        return olrun_invalid (err, "%s: empty tag in `%s`", what, s);
      r->tag = xstrdup (at + 1);
    }
  if (*p == '\0')
    return olrun_invalid (err, "%s: no path in `%s`", what, s);
  r->path = absolute (p);
  return 0;
}

/* docker-archive:FILE[:REPO:TAG].  REPO may hold ':' (a registry port), so
 * FILE is the shortest prefix ending before a ':' that names a file. */
static int
parse_docker_archive (const char *s, struct image_ref *r, olrun_error_t *err)
{
  struct stat st;
  for (const char *c = strchr (s, ':'); c; c = strchr (c + 1, ':'))
    {
      _cleanup_free_ char *file = xstrndup (s, (size_t) (c - s));
      if (stat (file, &st) == 0 && S_ISREG (st.st_mode))
        {
          r->path = absolute (file);
          r->repo = xstrdup (c + 1);
          if (*r->repo == '\0' || strchr (r->repo, ':') == NULL)
            return olrun_invalid (err, "docker-archive: expected FILE[:REPO:TAG], got `%s`", s);
          return 0;
        }
    }
  if (*s == '\0')
    return olrun_invalid (err, "docker-archive: no file given");
  r->path = absolute (s);
  return 0;
}

/* Docker's normalisation: the first component is a registry when it has a
 * '.' or a ':' or is "localhost"; otherwise the image is on Docker Hub and a
 * one-component name lives in "library/". */
static int
parse_docker (const char *s, bool explicit_transport, struct image_ref *r, olrun_error_t *err)
{
  _cleanup_free_ char *p = xstrdup (s);
  char *at = strchr (p, '@');
  if (at)
    {
      *at = '\0';
      if (digest_check (at + 1, "docker", err) < 0)
        return -1;
      r->digest = xstrdup (at + 1);
    }
  char *slash = strrchr (p, '/');
  char *colon = strchr (slash ? slash : p, ':');
  if (colon)
    {
      *colon = '\0';
      if (!tag_valid (colon + 1))
        return olrun_invalid (err, "invalid tag `%s` in `%s`", colon + 1, s);
      r->tag = xstrdup (colon + 1);
    }
  if (r->tag == NULL && r->digest == NULL)
    r->tag = xstrdup ("latest");
  char *first_slash = strchr (p, '/');
  if (first_slash && (memchr (p, '.', (size_t) (first_slash - p)) || memchr (p, ':', (size_t) (first_slash - p))
                      || strncmp (p, "localhost/", 10) == 0))
    {
      r->registry = xstrndup (p, (size_t) (first_slash - p));
      r->repo = xstrdup (first_slash + 1);
    }
  else
    {
      r->registry = xstrdup ("docker.io");
      r->repo = first_slash ? xstrdup (p) : xasprintf ("library/%s", p);
    }
  if (*r->repo == '\0')
    return olrun_invalid (err, "no repository in `%s`", s);
  for (const char *c = r->repo; *c; c++)
    if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || strchr ("._-/", *c)))
      return olrun_invalid (err, "invalid repository name `%s`%s", r->repo,
                            explicit_transport ? "" : " (not a known transport either)");
  return 0;
}

int
image_ref_parse (const char *s, struct image_ref *r, olrun_error_t *err)
{
  memset (r, 0, sizeof *r);
  int rc;
  if (strncmp (s, "oci:", 4) == 0)
    {
      r->transport = REF_OCI;
      rc = parse_path_ref ("oci", s + 4, true, r, err);
    }
  else if (strncmp (s, "oci-archive:", 12) == 0)
    {
      r->transport = REF_OCI_ARCHIVE;
      rc = parse_path_ref ("oci-archive", s + 12, false, r, err);
    }
  else if (strncmp (s, "docker-archive:", 15) == 0)
    {
      r->transport = REF_DOCKER_ARCHIVE;
      rc = parse_docker_archive (s + 15, r, err);
    }
  else if (strncmp (s, "docker://", 9) == 0)
    {
      r->transport = REF_DOCKER;
      rc = parse_docker (s + 9, true, r, err);
    }
  else
    {
      /* A transport-like prefix we do not know is an error, not a short name. */
      const char *colon = strchr (s, ':');
      const char *slash = strchr (s, '/');
      if (colon && (slash == NULL || colon < slash) && strncmp (colon, "://", 3) == 0)
        return olrun_invalid (err, "unknown transport in `%s` (expected oci:, oci-archive:, "
                                   "docker-archive: or docker://)", s);
      r->transport = REF_DOCKER;
      rc = parse_docker (s, false, r, err);
    }
  if (rc < 0)
    {
      image_ref_clear (r);
      return -1;
    }
  static const char *const names[] = { "oci:", "oci-archive:", "docker-archive:", "docker://" };
  if (r->transport == REF_DOCKER)
    r->display = xasprintf ("docker://%s/%s%s%s", r->registry, r->repo, r->digest ? "@" : ":",
                            r->digest ? r->digest : r->tag);
  else
    r->display = xasprintf ("%s%s%s%s", names[r->transport], r->path, r->digest ? "@" : (r->tag || r->repo) ? ":" : "",
                            r->digest ? r->digest : r->tag ? r->tag : r->repo ? r->repo : "");
  return 0;
}
