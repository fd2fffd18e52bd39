/* linux.seccomp -> struct olrun_seccomp. */
#include "olrun/spec.h"
#include "olrun/util.h"

struct olrun_seccomp *olrun_seccomp_new (void);

int
olrun_spec_parse_seccomp (const struct olrun_jdec *d, const olrun_json_t *node, const struct olrun_jpath *p,
                          struct olrun_seccomp **ret)
{
  if (olrun_jdec_expect (d, node, p, OLRUN_JSON_OBJECT) < 0)
    return -1;
  *ret = olrun_seccomp_new ();
  return 0;
}
