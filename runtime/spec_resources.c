/* linux.resources -> struct olrun_resources. */
#include "olrun/spec.h"
#include "olrun/util.h"

struct olrun_resources *olrun_resources_new (void);

int
olrun_spec_parse_resources (const struct olrun_jdec *d, const olrun_json_t *node, const struct olrun_jpath *p,
                            struct olrun_resources **ret)
{
  if (olrun_jdec_expect (d, node, p, OLRUN_JSON_OBJECT) < 0)
    return -1;
  *ret = olrun_resources_new ();
  return 0;
}
