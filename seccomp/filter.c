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

/* Until the compiler lands, a config's filter is refused loudly at install
 * time rather than silently ignored. */
struct olrun_seccomp_program
{
  bool present;
};

int
olrun_seccomp_prepare (const struct olrun_seccomp *s, const char *raw_json, size_t raw_len, const char *cache_dir,
                       struct olrun_seccomp_program **ret, olrun_error_t *err)
{
  *ret = xzalloc (sizeof (struct olrun_seccomp_program));
  (*ret)->present = s != NULL;
  return 0;
}

int
olrun_seccomp_install (const struct olrun_seccomp_program *p, int *ret_listener_fd, olrun_error_t *err)
{
  *ret_listener_fd = -1;
  if (p && p->present)
    return olrun_error_set (err, OLRUN_E_UNSUPPORTED, 0, "seccomp filters are not supported yet");
  return 0;
}

int
olrun_seccomp_send_listener (const struct olrun_seccomp *s, int listener_fd, const char *state_json,
                             olrun_error_t *err)
{
  return olrun_error_set (err, OLRUN_E_UNSUPPORTED, 0, "seccomp notify is not supported yet");
}

void
olrun_seccomp_program_free (struct olrun_seccomp_program *p)
{
  free (p);
}
