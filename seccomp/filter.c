/* struct olrun_seccomp -> classic BPF, through libseccomp.  This is the only
 * file that includes <seccomp.h>.  olrun_seccomp_prepare() first asks the
 * cache (seccomp/cache.c): compiling a large profile is most of a runtime's
 * user CPU time, and a host runs the same few profiles over and over. */
#include <errno.h>
#include <seccomp.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/utsname.h>

#include "olrun/log.h"
#include "olrun/seccomp.h"
#include "olrun/util.h"
#include "seccomp/seccomp_internal.h"

/* Bump when the way a profile becomes BPF changes (attributes, rule
 * splitting), so entries compiled the old way are not reused. */
#define CACHE_FORMAT "olrun-seccomp-bpf-2"

static void
ctx_releasep (scmp_filter_ctx *ctx)
{
  if (*ctx)
    seccomp_release (*ctx);
}
#define _cleanup_scmp_ _cleanup_ (ctx_releasep)

static uint32_t
action_value (enum olrun_seccomp_action a, bool has_errno, uint16_t errno_ret)
{
  /* ERRNO and TRACE default to EPERM, as runc and crun do. */
  uint16_t data = has_errno ? errno_ret : EPERM;
  switch (a)
    {
    case OLRUN_SCMP_ACT_KILL:
    case OLRUN_SCMP_ACT_KILL_THREAD:
      return SCMP_ACT_KILL_THREAD;
    case OLRUN_SCMP_ACT_KILL_PROCESS:
      return SCMP_ACT_KILL_PROCESS;
    case OLRUN_SCMP_ACT_TRAP:
      return SCMP_ACT_TRAP;
    case OLRUN_SCMP_ACT_ERRNO:
      return SCMP_ACT_ERRNO (data);
    case OLRUN_SCMP_ACT_TRACE:
      return SCMP_ACT_TRACE (data);
    case OLRUN_SCMP_ACT_LOG:
      return SCMP_ACT_LOG;
    case OLRUN_SCMP_ACT_NOTIFY:
      return SCMP_ACT_NOTIFY;
    case OLRUN_SCMP_ACT_ALLOW:
    default:
      return SCMP_ACT_ALLOW;
    }
}

static const enum scmp_compare op_values[OLRUN_SCMP_CMP_COUNT] = {
  [OLRUN_SCMP_CMP_NE] = SCMP_CMP_NE, [OLRUN_SCMP_CMP_LT] = SCMP_CMP_LT,
  [OLRUN_SCMP_CMP_LE] = SCMP_CMP_LE, [OLRUN_SCMP_CMP_EQ] = SCMP_CMP_EQ,
  [OLRUN_SCMP_CMP_GE] = SCMP_CMP_GE, [OLRUN_SCMP_CMP_GT] = SCMP_CMP_GT,
  [OLRUN_SCMP_CMP_MASKED_EQ] = SCMP_CMP_MASKED_EQ,
};

/* 0 where this libseccomp does not know the architecture. */
static uint32_t
arch_token (enum olrun_seccomp_arch a)
{
  static const uint32_t tokens[OLRUN_SCMP_ARCH_COUNT] = {
    [OLRUN_SCMP_ARCH_X86] = SCMP_ARCH_X86,
    [OLRUN_SCMP_ARCH_X86_64] = SCMP_ARCH_X86_64,
    [OLRUN_SCMP_ARCH_X32] = SCMP_ARCH_X32,
    [OLRUN_SCMP_ARCH_ARM] = SCMP_ARCH_ARM,
    [OLRUN_SCMP_ARCH_AARCH64] = SCMP_ARCH_AARCH64,
    [OLRUN_SCMP_ARCH_MIPS] = SCMP_ARCH_MIPS,
    [OLRUN_SCMP_ARCH_MIPS64] = SCMP_ARCH_MIPS64,
    [OLRUN_SCMP_ARCH_MIPS64N32] = SCMP_ARCH_MIPS64N32,
    [OLRUN_SCMP_ARCH_MIPSEL] = SCMP_ARCH_MIPSEL,
    [OLRUN_SCMP_ARCH_MIPSEL64] = SCMP_ARCH_MIPSEL64,
    [OLRUN_SCMP_ARCH_MIPSEL64N32] = SCMP_ARCH_MIPSEL64N32,
    [OLRUN_SCMP_ARCH_PPC] = SCMP_ARCH_PPC,
    [OLRUN_SCMP_ARCH_PPC64] = SCMP_ARCH_PPC64,
    [OLRUN_SCMP_ARCH_PPC64LE] = SCMP_ARCH_PPC64LE,
    [OLRUN_SCMP_ARCH_S390] = SCMP_ARCH_S390,
    [OLRUN_SCMP_ARCH_S390X] = SCMP_ARCH_S390X,
    [OLRUN_SCMP_ARCH_PARISC] = SCMP_ARCH_PARISC,
    [OLRUN_SCMP_ARCH_PARISC64] = SCMP_ARCH_PARISC64,
    [OLRUN_SCMP_ARCH_RISCV64] = SCMP_ARCH_RISCV64,
#ifdef SCMP_ARCH_LOONGARCH64
    [OLRUN_SCMP_ARCH_LOONGARCH64] = SCMP_ARCH_LOONGARCH64,
#endif
#ifdef SCMP_ARCH_M68K
    [OLRUN_SCMP_ARCH_M68K] = SCMP_ARCH_M68K,
#endif
#ifdef SCMP_ARCH_SH
    [OLRUN_SCMP_ARCH_SH] = SCMP_ARCH_SH,
    [OLRUN_SCMP_ARCH_SHEB] = SCMP_ARCH_SHEB,
#endif
  };
  return tokens[a];
}

bool
olrun_seccomp_arch_supported (enum olrun_seccomp_arch a)
{
  if (a >= OLRUN_SCMP_ARCH_COUNT || arch_token (a) == 0)
    return false;
  /* Every filter holds the native architecture, and libseccomp refuses to
   * mix byte orders (EDOM): s390x or big-endian MIPS cannot join an x86_64
   * filter, so a profile naming them fails here.  Ask libseccomp. */
  _cleanup_scmp_ scmp_filter_ctx ctx = seccomp_init (SCMP_ACT_ALLOW);
  if (ctx == NULL)
    return false;
  int rc = seccomp_arch_add (ctx, arch_token (a));
  return rc == 0 || rc == -EEXIST;
}

char *
olrun_seccomp_library_version (void)
{
  const struct scmp_version *v = seccomp_version ();
  return xasprintf ("%u.%u.%u", v->major, v->minor, v->micro);
}

/* libseccomp returns -errno. */
static int
libseccomp_fail (olrun_error_t *err, int rc, const char *what, const char *name)
{
  if (name)
    return olrun_fail (err, -rc, "seccomp: %s `%s`", what, name);
  return olrun_fail (err, -rc, "seccomp: %s", what);
}

/* One rule for one syscall.  libseccomp takes one comparison per argument
 * and rule, so when a rule tests an argument twice each comparison becomes
 * its own rule, which is how runc and crun read such profiles. */
static int
add_rule (scmp_filter_ctx ctx, uint32_t action, int nr, const struct olrun_seccomp_rule *r, const char *name,
          olrun_error_t *err)
{
  struct scmp_arg_cmp cmp[6];
  unsigned seen = 0;
  bool repeated = false;
  size_t n = r->n_args;
  if (n > ARRAY_SIZE (cmp))
    repeated = true; /* 7+ comparisons over 6 arguments: one must repeat */
  for (size_t i = 0; i < n && i < ARRAY_SIZE (cmp); i++)
    {
      const struct olrun_seccomp_arg *a = &r->args[i];
      if (seen & (1u << a->index))
        repeated = true;
      seen |= 1u << a->index;
    }
  if (!repeated)
    {
      for (size_t i = 0; i < n; i++)
        cmp[i] = (struct scmp_arg_cmp){ r->args[i].index, op_values[r->args[i].op], r->args[i].value,
                                        r->args[i].value_two };
      int rc = seccomp_rule_add_array (ctx, action, nr, (unsigned) n, cmp);
      return rc < 0 ? libseccomp_fail (err, rc, "adding a rule for", name) : 0;
    }
  for (size_t i = 0; i < n; i++)
    {
      struct scmp_arg_cmp c
          = { r->args[i].index, op_values[r->args[i].op], r->args[i].value, r->args[i].value_two };
      int rc = seccomp_rule_add_array (ctx, action, nr, 1, &c);
      if (rc < 0)
        return libseccomp_fail (err, rc, "adding a rule for", name);
    }
  return 0;
}

static int
add_rules (scmp_filter_ctx ctx, const struct olrun_seccomp *s, uint32_t def, olrun_error_t *err)
{
  for (size_t i = 0; i < s->n_rules; i++)
    {
      const struct olrun_seccomp_rule *r = &s->rules[i];
      uint32_t action = action_value (r->action, r->has_errno_ret, r->errno_ret);
      /* libseccomp refuses a rule that repeats the default (EACCES); it
       * would change nothing, so runc and crun skip it too. */
      if (action == def)
        continue;
      for (size_t k = 0; r->names[k]; k++)
        {
          int nr = seccomp_syscall_resolve_name (r->names[k]);
          if (nr == __NR_SCMP_ERROR)
            {
              /* Profiles list syscalls of newer kernels and other
               * architectures; runc and crun skip the unknown ones. */
              olrun_debug ("seccomp: skipping unknown syscall `%s`", r->names[k]);
              continue;
            }
          if (add_rule (ctx, action, nr, r, r->names[k], err) < 0)
            return olrun_error_wrap (err, "linux.seccomp.syscalls[%zu]", i);
        }
    }
  return 0;
}

/* seccomp_export_bpf() writes to an fd (libseccomp 2.5 has no in-memory
 * export); a memfd avoids both a pipe's capacity and the filesystem. */
static int
export_bpf (scmp_filter_ctx ctx, struct olrun_seccomp_program *p, olrun_error_t *err)
{
  _cleanup_close_ int fd = memfd_create ("olrun-seccomp-bpf", MFD_CLOEXEC);
  if (fd < 0)
    return olrun_fail (err, errno, "seccomp: memfd_create");
  int rc = seccomp_export_bpf (ctx, fd);
  if (rc < 0)
    return libseccomp_fail (err, rc, "exporting the BPF program", NULL);
  struct stat st;
  if (fstat (fd, &st) < 0)
    return olrun_fail (err, errno, "seccomp: fstat memfd");
  size_t size = (size_t) st.st_size;
  if (size == 0 || size % sizeof (struct sock_filter) != 0)
    return olrun_fail (err, 0, "seccomp: libseccomp exported %zu bytes, not a BPF program", size);
  p->len = size / sizeof (struct sock_filter);
  /* The kernel refuses longer programs with a bare EINVAL. */
  if (p->len > BPF_MAXINSNS)
    return olrun_error_set (err, OLRUN_E_INVALID, 0,
                            "seccomp: the profile compiles to %zu BPF instructions, the kernel allows %d", p->len,
                            BPF_MAXINSNS);
  p->insns = xmalloc (size);
  if (pread (fd, p->insns, size, 0) != (ssize_t) size)
    return olrun_fail (err, errno, "seccomp: reading the BPF program back");
  return 0;
}

static int
add_arches (scmp_filter_ctx ctx, const struct olrun_seccomp *s, olrun_error_t *err)
{
  for (size_t i = 0; i < s->n_arches; i++)
    {
      uint32_t token = arch_token (s->arches[i]);
      if (token == 0)
        {
          const struct scmp_version *v = seccomp_version ();
          return olrun_error_set (err, OLRUN_E_UNSUPPORTED, 0, "seccomp: %s is not supported by libseccomp %u.%u.%u",
                                  olrun_seccomp_arch_name (s->arches[i]), v->major, v->minor, v->micro);
        }
      /* The native architecture is in every filter already. */
      int rc = seccomp_arch_add (ctx, token);
      if (rc < 0 && rc != -EEXIST)
        return libseccomp_fail (err, rc, "adding architecture", olrun_seccomp_arch_name (s->arches[i]));
    }
  return 0;
}

static int
compile (const struct olrun_seccomp *s, struct olrun_seccomp_program *p, olrun_error_t *err)
{
  uint32_t def = action_value (s->default_action, s->has_default_errno_ret, s->default_errno_ret);
  _cleanup_scmp_ scmp_filter_ctx ctx = seccomp_init (def);
  if (ctx == NULL)
    return olrun_error_set (err, OLRUN_E_UNSUPPORTED, 0, "seccomp: libseccomp refused the default action %s",
                            olrun_seccomp_action_name (s->default_action));
  /* A binary search over syscall numbers instead of a linear chain: large
   * profiles (podman's has ~400 syscalls) run fewer instructions per call. */
  int rc = seccomp_attr_set (ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
  if (rc < 0)
    return libseccomp_fail (err, rc, "setting the optimization level", NULL);
  if (add_arches (ctx, s, err) < 0 || add_rules (ctx, s, def, err) < 0)
    return -1;
  return export_bpf (ctx, p, err);
}

/* Everything besides the profile that the BPF depends on: libseccomp's
 * version fixes its syscall tables and code generator, the kernel (uname)
 * which actions it found available, the format how olrun drives it. */
static char *
build_id (void)
{
  const struct scmp_version *v = seccomp_version ();
  struct utsname u;
  if (uname (&u) < 0)
    memset (&u, 0, sizeof u);
  return xasprintf ("%s %s libseccomp %u.%u.%u arch %u %s %s %s", CACHE_FORMAT, OLRUN_VERSION, v->major, v->minor,
                    v->micro, seccomp_arch_native (), u.machine, u.release, u.version);
}

int
olrun_seccomp_prepare (const struct olrun_seccomp *s, const char *raw_json, size_t raw_len, const char *cache_dir,
                       struct olrun_seccomp_program **ret, olrun_error_t *err)
{
  _cleanup_free_ char *id = NULL;
  struct olrun_seccomp_cache_key key = { .text = raw_json, .text_len = raw_len };
  _cleanup_close_ int dirfd = -1;
  if (cache_dir && raw_json)
    {
      id = build_id ();
      key.id = id;
      key.id_len = strlen (id);
      dirfd = olrun_seccomp_cache_open (cache_dir);
    }
  _cleanup_seccomp_program_ struct olrun_seccomp_program *p = dirfd >= 0 ? olrun_seccomp_cache_load (dirfd, &key) : NULL;
  if (p == NULL)
    {
      p = xzalloc (sizeof *p);
      if (compile (s, p, err) < 0)
        return -1;
      if (dirfd >= 0)
        {
          _cleanup_error_ olrun_error_t cerr = NULL;
          if (olrun_seccomp_cache_store (dirfd, &key, p, &cerr) < 0)
            olrun_debug ("seccomp: not caching the filter: %s", cerr->msg);
        }
    }
  /* The flags are not part of the BPF: they come from the profile on every
   * run, cached or not. */
  p->notify = s->uses_notify;
  p->kernel_flags = olrun_seccomp_kernel_flags (s->flags, s->uses_notify);
  *ret = TAKE_PTR (p);
  return 0;
}

void
olrun_seccomp_program_free (struct olrun_seccomp_program *p)
{
  if (p == NULL)
    return;
  free (p->insns);
  free (p);
}

void
olrun_seccomp_program_freep (struct olrun_seccomp_program **p)
{
  olrun_seccomp_program_free (*p);
  *p = NULL;
}

size_t
olrun_seccomp_program_len (const struct olrun_seccomp_program *p)
{
  return p->len;
}
bool
olrun_seccomp_program_from_cache (const struct olrun_seccomp_program *p)
{
  return p->from_cache;
}
bool
olrun_seccomp_program_notifies (const struct olrun_seccomp_program *p)
{
  return p->notify;
}
