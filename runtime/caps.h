/* Capabilities of the container's process (runtime/caps.c). */
#ifndef OLRUN_RUNTIME_CAPS_H
#define OLRUN_RUNTIME_CAPS_H

#include "olrun/spec.h"

int olrun_caps_last_cap (void);
/* "CAP_CHOWN" for 0, as config.json spells it (heap); NULL for a number
 * libcap has no name for. */
char *olrun_caps_name (int cap);
/* Reduce the bounding set to `keep`; before the uid changes. */
int olrun_caps_drop_bounding (uint64_t keep, olrun_error_t *err);
/* Set the effective, permitted, inheritable and ambient sets of the calling thread.  Call after setuid with
 * PR_SET_KEEPCAPS, so the permitted set survives the uid change. */
int olrun_caps_apply (const struct olrun_capsets *c, olrun_error_t *err);

#endif
