/* Internal to create.c / spawn.c / run.c. */
#ifndef OLRUN_RUNTIME_CREATE_H
#define OLRUN_RUNTIME_CREATE_H

#include "runtime/internal.h"

/* Create a container.  start_inline: the start message will come over the
 * sync socket (run), not from a separate `start`. */
int olrun_create_internal (const struct olrun_context *ctx, const struct olrun_create_opts *o, bool start_inline,
                           struct olrun_container **ret, olrun_error_t *err);
void olrun_container_free (struct olrun_container *c);
void olrun_container_freep (struct olrun_container **c);
#define _cleanup_container_ __attribute__ ((cleanup (olrun_container_freep)))

/* clone3 the container's first process (spawn.c). */
int olrun_create_spawn (struct olrun_container *c, olrun_error_t *err);
/* Slow path: learn the init's pid from the intermediate and reap it. */
int olrun_create_take_init (struct olrun_container *c, olrun_error_t *err);
/* Move linux.netDevices into the container's network namespace. */
int olrun_create_net_devices (struct olrun_container *c, olrun_error_t *err);

#endif
