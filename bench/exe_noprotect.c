/* For bench/security.sh only: olrun_process_protect_exe doing nothing, so
 * the bench can link an olrun without the CVE-2019-5736 protection and
 * show what the protection costs per run.  Never part of ./olrun. */
#include "runtime/internal.h"

int
olrun_exe_guard_prepare (struct olrun_exe_guard *g, olrun_error_t *err)
{
  (void) err;
  g->fd = g->tree = -1;
  return 0;
}

void
olrun_exe_guard_clear (struct olrun_exe_guard *g)
{
  (void) g;
}

int
olrun_process_protect_exe (const struct olrun_exe_guard *g, olrun_error_t *err)
{
  (void) g;
  (void) err;
  return 0;
}
