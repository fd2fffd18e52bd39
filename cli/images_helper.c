/* ./olrun is built static (Makefile): no dynamic loader runs on any
 * runtime verb.  A static binary cannot dlopen(), though, and the image
 * half (pull, bundle, images, cache, the launcher) and the systemd cgroup
 * manager need libraries loaded that way.  So olrun-images, the same
 * program linked dynamically, does those: olrun execs it with its own
 * argv before it has done anything, and the user still types one
 * command. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "olrun/util.h"

#ifndef OLRUN_LIBEXECDIR
#define OLRUN_LIBEXECDIR "/usr/local/libexec/olrun"
#endif

#define HELPER "olrun-images"

#ifdef OLRUN_STATIC
/* Beside the binary (the build tree), in ../libexec/olrun from it (an
 * installed tree, wherever it was moved or DESTDIR put it), else in the
 * LIBEXECDIR it was built for. */
static char *
find_helper (void)
{
  char self[PATH_MAX];
  ssize_t n = readlink ("/proc/self/exe", self, sizeof self - 1);
  char *slash = n > 0 ? (self[n] = '\0', strrchr (self, '/')) : NULL;
  if (slash)
    {
      int dir = (int) (slash - self);
      const char *const rel[] = { "/" HELPER, "/../libexec/olrun/" HELPER };
      for (size_t i = 0; i < ARRAY_SIZE (rel); i++)
        {
          char *p = xasprintf ("%.*s%s", dir, self, rel[i]);
          if (access (p, X_OK) == 0)
            return p;
          free (p);
        }
    }
  if (access (OLRUN_LIBEXECDIR "/" HELPER, X_OK) == 0)
    return xstrdup (OLRUN_LIBEXECDIR "/" HELPER);
  return NULL;
}
#endif

int
olrun_cli_images_helper (const struct olrun_cli *cli, const char *what, bool required)
{
#ifdef OLRUN_STATIC
  _cleanup_free_ char *helper = find_helper ();
  if (helper == NULL)
    {
      if (!required)
        return 0;
      return olrun_cli_failf ("%s needs %s (olrun's image half, linked dynamically), found neither beside "
                              "olrun nor in %s",
                              what, HELPER, OLRUN_LIBEXECDIR), -1;
    }
  execv (helper, cli->argv);
  return olrun_cli_failf ("%s: exec %s: %s", what, helper, strerror (errno)), -1;
#else
  return 0;
#endif
}
