/* seccomp: linux.seccomp turned into a BPF program and loaded into the
 * container's process.  Only seccomp/filter.c includes <seccomp.h>.
 *
 * The life of a profile:
 *   1. runtime/spec_seccomp.c parses linux.seccomp into struct olrun_seccomp
 *      and refuses what cannot work, naming the JSON path and byte offset.
 *   2. olrun_seccomp_prepare(), in the parent before clone, turns it into
 *      BPF: from the cache when the same profile was compiled before,
 *      otherwise with libseccomp (then it stores the result).
 *   3. olrun_seccomp_install(), in the container's process right before
 *      execve, loads the BPF with seccomp(2).
 *   4. With an SCMP_ACT_NOTIFY rule, the child hands the listener fd to the
 *      parent, which calls olrun_seccomp_send_listener() to pass it on to the
 *      agent at listenerPath. */
#ifndef OLRUN_SECCOMP_H
#define OLRUN_SECCOMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "olrun/error.h"

enum olrun_seccomp_action
{
  OLRUN_SCMP_ACT_KILL,          /* SCMP_ACT_KILL: kill the thread */
  OLRUN_SCMP_ACT_KILL_PROCESS,
  OLRUN_SCMP_ACT_KILL_THREAD,
  OLRUN_SCMP_ACT_TRAP,          /* SIGSYS */
  OLRUN_SCMP_ACT_ERRNO,         /* fail with errnoRet (EPERM by default) */
  OLRUN_SCMP_ACT_TRACE,         /* tell a ptrace tracer, errnoRet is the message */
  OLRUN_SCMP_ACT_ALLOW,
  OLRUN_SCMP_ACT_LOG,           /* allow and log */
  OLRUN_SCMP_ACT_NOTIFY,        /* ask the agent at listenerPath */
  OLRUN_SCMP_ACT_COUNT,
};

enum olrun_seccomp_op
{
  OLRUN_SCMP_CMP_NE,
  OLRUN_SCMP_CMP_LT,
  OLRUN_SCMP_CMP_LE,
  OLRUN_SCMP_CMP_EQ,
  OLRUN_SCMP_CMP_GE,
  OLRUN_SCMP_CMP_GT,
  OLRUN_SCMP_CMP_MASKED_EQ,     /* (arg & value) == valueTwo */
  OLRUN_SCMP_CMP_COUNT,
};

/* The runtime-spec's architecture names (SCMP_ARCH_*), in table order. */
enum olrun_seccomp_arch
{
  OLRUN_SCMP_ARCH_X86,
  OLRUN_SCMP_ARCH_X86_64,
  OLRUN_SCMP_ARCH_X32,
  OLRUN_SCMP_ARCH_ARM,
  OLRUN_SCMP_ARCH_AARCH64,
  OLRUN_SCMP_ARCH_MIPS,
  OLRUN_SCMP_ARCH_MIPS64,
  OLRUN_SCMP_ARCH_MIPS64N32,
  OLRUN_SCMP_ARCH_MIPSEL,
  OLRUN_SCMP_ARCH_MIPSEL64,
  OLRUN_SCMP_ARCH_MIPSEL64N32,
  OLRUN_SCMP_ARCH_PPC,
  OLRUN_SCMP_ARCH_PPC64,
  OLRUN_SCMP_ARCH_PPC64LE,
  OLRUN_SCMP_ARCH_S390,
  OLRUN_SCMP_ARCH_S390X,
  OLRUN_SCMP_ARCH_PARISC,
  OLRUN_SCMP_ARCH_PARISC64,
  OLRUN_SCMP_ARCH_RISCV64,
  OLRUN_SCMP_ARCH_LOONGARCH64,
  OLRUN_SCMP_ARCH_M68K,
  OLRUN_SCMP_ARCH_SH,
  OLRUN_SCMP_ARCH_SHEB,
  OLRUN_SCMP_ARCH_COUNT,
};

/* linux.seccomp.flags, as bits (not the kernel's values). */
enum olrun_seccomp_flag
{
  OLRUN_SCMP_FLAG_TSYNC = 1u << 0,
  OLRUN_SCMP_FLAG_LOG = 1u << 1,
  OLRUN_SCMP_FLAG_SPEC_ALLOW = 1u << 2,
  OLRUN_SCMP_FLAG_WAIT_KILLABLE_RECV = 1u << 3,
};
#define OLRUN_SCMP_FLAG_COUNT 4

struct olrun_seccomp_arg
{
  unsigned index;               /* 0..5 */
  uint64_t value, value_two;
  enum olrun_seccomp_op op;
};

struct olrun_seccomp_rule
{
  char **names;                 /* NULL-terminated */
  enum olrun_seccomp_action action;
  bool has_errno_ret;
  uint16_t errno_ret;
  struct olrun_seccomp_arg *args;
  size_t n_args;
};

/* linux.seccomp, parsed (runtime/spec_seccomp.c fills it in). */
struct olrun_seccomp
{
  enum olrun_seccomp_action default_action;
  bool has_default_errno_ret;
  uint16_t default_errno_ret;
  enum olrun_seccomp_arch *arches;
  size_t n_arches;
  unsigned flags;               /* enum olrun_seccomp_flag bits */
  char *listener_path;          /* host path of the agent's socket */
  char *listener_metadata;
  struct olrun_seccomp_rule *rules;
  size_t n_rules;
  bool uses_notify;             /* some rule is SCMP_ACT_NOTIFY */
};

struct olrun_seccomp *olrun_seccomp_new (void);
void olrun_seccomp_free (struct olrun_seccomp *s);

/* Name <-> value tables ("SCMP_ACT_ERRNO", "SCMP_CMP_MASKED_EQ",
 * "SCMP_ARCH_X86_64", "SECCOMP_FILTER_FLAG_LOG").  The lookups return -1 for
 * an unknown name; the name functions return NULL past the end, so
 * `features` can list them. */
int olrun_seccomp_action_from_name (const char *name);
int olrun_seccomp_op_from_name (const char *name);
int olrun_seccomp_arch_from_name (const char *name);
int olrun_seccomp_flag_from_name (const char *name); /* returns the bit */
const char *olrun_seccomp_action_name (size_t i);
const char *olrun_seccomp_op_name (size_t i);
const char *olrun_seccomp_arch_name (size_t i);
const char *olrun_seccomp_flag_name (size_t i);
/* Whether the running kernel accepts a flag (a bit of enum
 * olrun_seccomp_flag), for `features`' supportedFlags. */
bool olrun_seccomp_flag_supported (unsigned flag);

/* Whether a profile may name an architecture: the libseccomp olrun is
 * built with knows it and can add it to a filter for this machine.  And
 * that libseccomp's version ("2.5.4", heap).  For `features`, --version. */
bool olrun_seccomp_arch_supported (enum olrun_seccomp_arch a);
char *olrun_seccomp_library_version (void);

/* Syscalls the runtime itself makes between olrun_seccomp_install() and
 * execve to hand the listener fd over.  An SCMP_ACT_NOTIFY rule on them
 * would wait for an agent that cannot have the fd yet (a deadlock), so the
 * parser refuses it, as runc refuses `write`. */
extern const char *const olrun_seccomp_handoff_syscalls[];

/* ---- compile, cache, install ---------------------------------------------- */

/* A compiled filter: classic BPF plus the seccomp(2) flags to load it with. */
struct olrun_seccomp_program;

/* In the parent, before clone: compile `s` to BPF.  `raw_json` is the exact
 * text of the linux.seccomp object (the node's offset..end in the config);
 * with a `cache_dir` (created 0700 if missing) the BPF is looked up there:
 * an entry is used only when its stored profile text and build identity
 * (libseccomp, kernel, architecture) equal these byte for byte, and a miss
 * stores one.  The cache only ever saves time: when the directory is not
 * ours or an entry is corrupt, the filter is compiled. */
int olrun_seccomp_prepare (const struct olrun_seccomp *s, const char *raw_json, size_t raw_len,
                           const char *cache_dir, struct olrun_seccomp_program **ret, olrun_error_t *err);
void olrun_seccomp_program_free (struct olrun_seccomp_program *p);
void olrun_seccomp_program_freep (struct olrun_seccomp_program **p);
#define _cleanup_seccomp_program_ __attribute__ ((cleanup (olrun_seccomp_program_freep)))

/* Facts about a program, for tests and debug lines. */
size_t olrun_seccomp_program_len (const struct olrun_seccomp_program *p); /* instructions */
bool olrun_seccomp_program_from_cache (const struct olrun_seccomp_program *p);
bool olrun_seccomp_program_notifies (const struct olrun_seccomp_program *p);

/* In the container's process, as late as possible (right before execve):
 * load the filter.  The kernel demands no_new_privs or CAP_SYS_ADMIN in the
 * calling thread; as runc and crun do, a runtime whose process keeps
 * no_new_privs off must call this before it drops CAP_SYS_ADMIN (the filter
 * then also applies to the rest of its setup).  *ret_listener_fd gets the
 * notify listener (O_CLOEXEC) when the profile has SCMP_ACT_NOTIFY, else -1.
 * A NULL program (no linux.seccomp) installs nothing. */
int olrun_seccomp_install (const struct olrun_seccomp_program *p, int *ret_listener_fd, olrun_error_t *err);

/* In the parent, once it holds the listener fd: connect to listenerPath
 * (AF_UNIX, SOCK_STREAM) and send one containerProcessState,
 *   {"ociVersion", "fds": ["seccompFd"], "pid", "metadata", "state"},
 * with the fd as SCM_RIGHTS, then close the connection, as the runtime-spec
 * says.  `state_json` is the container's state object; `pid` is the
 * container process as the runtime sees it.  listener_fd stays the
 * caller's. */
int olrun_seccomp_send_listener (const struct olrun_seccomp *s, int listener_fd, pid_t pid, const char *state_json,
                                 olrun_error_t *err);

#endif
