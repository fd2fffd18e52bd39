/* seccomp: linux.seccomp turned into a libseccomp filter.  Only seccomp/
 * includes <seccomp.h>. */
#ifndef OLRUN_SECCOMP_H
#define OLRUN_SECCOMP_H

#include <stdbool.h>
#include <stddef.h>

#include "olrun/error.h"

/* linux.seccomp, parsed (runtime/spec_seccomp.c fills it in). */
struct olrun_seccomp;
void olrun_seccomp_free (struct olrun_seccomp *s);

/* A compiled filter, ready to install. */
struct olrun_seccomp_program;

/* In the parent, before clone: compile (or load from the cache in
 * cache_dir) the filter.  raw_json is the linux.seccomp text, the cache key. */
int olrun_seccomp_prepare (const struct olrun_seccomp *s, const char *raw_json, size_t raw_len,
                           const char *cache_dir, struct olrun_seccomp_program **ret, olrun_error_t *err);
/* In the container, right before execve.  *ret_listener_fd is the notify
 * listener (or -1). */
int olrun_seccomp_install (const struct olrun_seccomp_program *p, int *ret_listener_fd, olrun_error_t *err);
/* Send the listener fd and the container state to the agent at listenerPath. */
int olrun_seccomp_send_listener (const struct olrun_seccomp *s, int listener_fd, const char *state_json,
                                 olrun_error_t *err);
void olrun_seccomp_program_free (struct olrun_seccomp_program *p);

#endif
