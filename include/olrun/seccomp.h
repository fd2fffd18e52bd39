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

#endif
