/* The runtime-spec's seccomp vocabulary: the names of actions, operators,
 * architectures and flags, and the profile's lifetime.  No libseccomp here,
 * so the config parser in runtime/ can check names without it. */
#include <errno.h>
#include <string.h>

#include "olrun/seccomp.h"
#include "olrun/util.h"
#include "seccomp/seccomp_internal.h"

static const char *const action_names[OLRUN_SCMP_ACT_COUNT] = {
  [OLRUN_SCMP_ACT_KILL] = "SCMP_ACT_KILL",
  [OLRUN_SCMP_ACT_KILL_PROCESS] = "SCMP_ACT_KILL_PROCESS",
  [OLRUN_SCMP_ACT_KILL_THREAD] = "SCMP_ACT_KILL_THREAD",
  [OLRUN_SCMP_ACT_TRAP] = "SCMP_ACT_TRAP",
  [OLRUN_SCMP_ACT_ERRNO] = "SCMP_ACT_ERRNO",
  [OLRUN_SCMP_ACT_TRACE] = "SCMP_ACT_TRACE",
  [OLRUN_SCMP_ACT_ALLOW] = "SCMP_ACT_ALLOW",
  [OLRUN_SCMP_ACT_LOG] = "SCMP_ACT_LOG",
  [OLRUN_SCMP_ACT_NOTIFY] = "SCMP_ACT_NOTIFY",
};

static const char *const op_names[OLRUN_SCMP_CMP_COUNT] = {
  [OLRUN_SCMP_CMP_NE] = "SCMP_CMP_NE",
  [OLRUN_SCMP_CMP_LT] = "SCMP_CMP_LT",
  [OLRUN_SCMP_CMP_LE] = "SCMP_CMP_LE",
  [OLRUN_SCMP_CMP_EQ] = "SCMP_CMP_EQ",
  [OLRUN_SCMP_CMP_GE] = "SCMP_CMP_GE",
  [OLRUN_SCMP_CMP_GT] = "SCMP_CMP_GT",
  [OLRUN_SCMP_CMP_MASKED_EQ] = "SCMP_CMP_MASKED_EQ",
};

static const char *const arch_names[OLRUN_SCMP_ARCH_COUNT] = {
  [OLRUN_SCMP_ARCH_X86] = "SCMP_ARCH_X86",
  [OLRUN_SCMP_ARCH_X86_64] = "SCMP_ARCH_X86_64",
  [OLRUN_SCMP_ARCH_X32] = "SCMP_ARCH_X32",
  [OLRUN_SCMP_ARCH_ARM] = "SCMP_ARCH_ARM",
  [OLRUN_SCMP_ARCH_AARCH64] = "SCMP_ARCH_AARCH64",
  [OLRUN_SCMP_ARCH_MIPS] = "SCMP_ARCH_MIPS",
  [OLRUN_SCMP_ARCH_MIPS64] = "SCMP_ARCH_MIPS64",
  [OLRUN_SCMP_ARCH_MIPS64N32] = "SCMP_ARCH_MIPS64N32",
  [OLRUN_SCMP_ARCH_MIPSEL] = "SCMP_ARCH_MIPSEL",
  [OLRUN_SCMP_ARCH_MIPSEL64] = "SCMP_ARCH_MIPSEL64",
  [OLRUN_SCMP_ARCH_MIPSEL64N32] = "SCMP_ARCH_MIPSEL64N32",
  [OLRUN_SCMP_ARCH_PPC] = "SCMP_ARCH_PPC",
  [OLRUN_SCMP_ARCH_PPC64] = "SCMP_ARCH_PPC64",
  [OLRUN_SCMP_ARCH_PPC64LE] = "SCMP_ARCH_PPC64LE",
  [OLRUN_SCMP_ARCH_S390] = "SCMP_ARCH_S390",
  [OLRUN_SCMP_ARCH_S390X] = "SCMP_ARCH_S390X",
  [OLRUN_SCMP_ARCH_PARISC] = "SCMP_ARCH_PARISC",
  [OLRUN_SCMP_ARCH_PARISC64] = "SCMP_ARCH_PARISC64",
  [OLRUN_SCMP_ARCH_RISCV64] = "SCMP_ARCH_RISCV64",
  [OLRUN_SCMP_ARCH_LOONGARCH64] = "SCMP_ARCH_LOONGARCH64",
  [OLRUN_SCMP_ARCH_M68K] = "SCMP_ARCH_M68K",
  [OLRUN_SCMP_ARCH_SH] = "SCMP_ARCH_SH",
  [OLRUN_SCMP_ARCH_SHEB] = "SCMP_ARCH_SHEB",
};

/* Indexed by bit position of enum olrun_seccomp_flag. */
static const char *const flag_names[OLRUN_SCMP_FLAG_COUNT] = {
  "SECCOMP_FILTER_FLAG_TSYNC",
  "SECCOMP_FILTER_FLAG_LOG",
  "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
  "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
};

/* olrun's runtime hands the listener over with sendmsg (runtime/sync.c).
 * write is refused too, as runc refuses it: a profile then fails the same
 * way under both, and a debug line written during the hand-over cannot
 * hang the container. */
const char *const olrun_seccomp_handoff_syscalls[] = { "write", "sendmsg", NULL };

static int
lookup (const char *const *names, size_t n, const char *name)
{
  for (size_t i = 0; i < n; i++)
    if (strcmp (names[i], name) == 0)
      return (int) i;
  return -1;
}

int
olrun_seccomp_action_from_name (const char *name)
{
  return lookup (action_names, ARRAY_SIZE (action_names), name);
}
int
olrun_seccomp_op_from_name (const char *name)
{
  return lookup (op_names, ARRAY_SIZE (op_names), name);
}
int
olrun_seccomp_arch_from_name (const char *name)
{
  return lookup (arch_names, ARRAY_SIZE (arch_names), name);
}
int
olrun_seccomp_flag_from_name (const char *name)
{
  int i = lookup (flag_names, ARRAY_SIZE (flag_names), name);
  return i < 0 ? -1 : 1 << i;
}

const char *
olrun_seccomp_action_name (size_t i)
{
  return i < ARRAY_SIZE (action_names) ? action_names[i] : NULL;
}
const char *
olrun_seccomp_op_name (size_t i)
{
  return i < ARRAY_SIZE (op_names) ? op_names[i] : NULL;
}
const char *
olrun_seccomp_arch_name (size_t i)
{
  return i < ARRAY_SIZE (arch_names) ? arch_names[i] : NULL;
}
const char *
olrun_seccomp_flag_name (size_t i)
{
  return i < ARRAY_SIZE (flag_names) ? flag_names[i] : NULL;
}

unsigned int
olrun_seccomp_kernel_flags (unsigned flags, bool notify)
{
  unsigned int k = 0;
  if (flags & OLRUN_SCMP_FLAG_TSYNC)
    k |= SECCOMP_FILTER_FLAG_TSYNC;
  if (flags & OLRUN_SCMP_FLAG_LOG)
    k |= SECCOMP_FILTER_FLAG_LOG;
  if (flags & OLRUN_SCMP_FLAG_SPEC_ALLOW)
    k |= SECCOMP_FILTER_FLAG_SPEC_ALLOW;
  if (flags & OLRUN_SCMP_FLAG_WAIT_KILLABLE_RECV)
    k |= SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV;
  if (notify)
    k |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
  /* The kernel refuses TSYNC with a listener unless a failed sync reports
   * ESRCH instead of a thread id, which would collide with the fd. */
  if ((k & SECCOMP_FILTER_FLAG_TSYNC) && notify)
    k |= SECCOMP_FILTER_FLAG_TSYNC_ESRCH;
  return k;
}

bool
olrun_seccomp_flag_supported (unsigned flag)
{
  /* The kernel checks the flags before it reads the program, so a NULL
   * program answers EFAULT for known flags and EINVAL for unknown ones (the
   * probe libseccomp uses).  WAIT_KILLABLE_RECV is only valid with a
   * listener, so it is probed together with one. */
  if (flag == 0 || (flag & (flag - 1)) != 0 || flag >= 1u << OLRUN_SCMP_FLAG_COUNT)
    return false;
  unsigned int k = olrun_seccomp_kernel_flags (flag, flag == OLRUN_SCMP_FLAG_WAIT_KILLABLE_RECV);
  return olrun_sys_seccomp (SECCOMP_SET_MODE_FILTER, k, NULL) < 0 && errno == EFAULT;
}

struct olrun_seccomp *
olrun_seccomp_new (void)
{
  return xzalloc (sizeof (struct olrun_seccomp));
}

void
olrun_seccomp_free (struct olrun_seccomp *s)
{
  if (s == NULL)
    return;
  free (s->arches);
  free (s->listener_path);
  free (s->listener_metadata);
  for (size_t i = 0; i < s->n_rules; i++)
    {
      strv_free (s->rules[i].names);
      free (s->rules[i].args);
    }
  free (s->rules);
  free (s);
}
