/* Parsers shared by the runtime/spec*.c files. */
#ifndef OLRUN_SPEC_INTERNAL_H
#define OLRUN_SPEC_INTERNAL_H

#include "olrun/spec.h"

int olrun_spec_parse_linux (const struct olrun_jdec *d, const olrun_json_t *node, const struct olrun_jpath *p,
                            struct olrun_linux *ret);
void olrun_spec_linux_clear (struct olrun_linux *l);
/* obj[key]: an array of {containerID, hostID, size}. */
int olrun_spec_parse_idmaps (const struct olrun_jdec *d, const olrun_json_t *obj, const struct olrun_jpath *p,
                             const char *key, struct olrun_idmaps *ret);

#endif
