/* linux.seccomp -> a libseccomp filter. */
#include <seccomp.h>

#include "olrun/seccomp.h"
#include "olrun/util.h"

struct olrun_seccomp
{
  bool present;
};

void
olrun_seccomp_free (struct olrun_seccomp *s)
{
  free (s);
}

struct olrun_seccomp *
olrun_seccomp_new (void)
{
  return xzalloc (sizeof (struct olrun_seccomp));
}
