/* The devices controller of cgroup v2 is a BPF_PROG_TYPE_CGROUP_DEVICE
 * program attached to the cgroup.  olrun assembles it itself and loads it
 * with the bpf() syscall: no libbpf, no clang at run time.
 *
 * Semantics follow the v1 devices.allow/devices.deny lists that the
 * runtime-spec describes: rules are applied in order, so the LAST rule that
 * matches a request decides, and a request no rule matches is denied.  The
 * program therefore tests the rules from the last to the first and returns
 * at the first match.  An allow rule matches only when it grants every
 * access bit requested (an "r" rule does not allow an O_RDWR open); a deny
 * rule matches when it names any of them. */
#include <linux/bpf.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "olrun/cgroup.h"
#include "olrun/util.h"
#include "cgroup/internal.h"

#define RWM (OLRUN_DEV_ACC_READ | OLRUN_DEV_ACC_WRITE | OLRUN_DEV_ACC_MKNOD)

/* runc's default allow-list (libcontainer/specconv AllowedDevices):
 * mknod of any node (creating one is harmless; opening it is what the list
 * guards), the standard character devices, the pty devices and tun/tap. */
static const struct olrun_cgroup_device_rule default_rules[] = {
  { true, 'c', -1, -1, OLRUN_DEV_ACC_MKNOD }, /* mknod any char device */
  { true, 'b', -1, -1, OLRUN_DEV_ACC_MKNOD }, /* mknod any block device */
  { true, 'c', 1, 3, RWM },                   /* /dev/null */
  { true, 'c', 1, 8, RWM },                   /* /dev/random */
  { true, 'c', 1, 7, RWM },                   /* /dev/full */
  { true, 'c', 5, 0, RWM },                   /* /dev/tty */
  { true, 'c', 1, 5, RWM },                   /* /dev/zero */
  { true, 'c', 1, 9, RWM },                   /* /dev/urandom */
  { true, 'c', 5, 1, RWM },                   /* /dev/console */
  { true, 'c', 136, -1, RWM },                /* /dev/pts/N */
  { true, 'c', 5, 2, RWM },                   /* /dev/ptmx */
  { true, 'c', 10, 200, RWM },                /* /dev/net/tun */
};
#define N_MKNOD_WILDCARDS 2 /* the first two entries above */

struct prog
{
  struct bpf_insn *v;
  size_t len;
  bool done;  /* an unconditional return was emitted */
};

static void
emit (struct prog *p, struct bpf_insn insn)
{
  p->v = xreallocarray (p->v, p->len + 1, sizeof *p->v);
  p->v[p->len++] = insn;
}

#define INSN(c, d, s, o, i) ((struct bpf_insn){ .code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i) })

/* Registers: r2 device type, r3 requested access, r4 major, r5 minor. */
static void
emit_prologue (struct prog *p)
{
  emit (p, INSN (BPF_LDX | BPF_MEM | BPF_W, BPF_REG_2, BPF_REG_1, offsetof (struct bpf_cgroup_dev_ctx, access_type), 0));
  emit (p, INSN (BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_3, BPF_REG_2, 0, 0));
  emit (p, INSN (BPF_ALU64 | BPF_RSH | BPF_K, BPF_REG_3, 0, 0, 16));
  emit (p, INSN (BPF_ALU64 | BPF_AND | BPF_K, BPF_REG_2, 0, 0, 0xffff));
  emit (p, INSN (BPF_LDX | BPF_MEM | BPF_W, BPF_REG_4, BPF_REG_1, offsetof (struct bpf_cgroup_dev_ctx, major), 0));
  emit (p, INSN (BPF_LDX | BPF_MEM | BPF_W, BPF_REG_5, BPF_REG_1, offsetof (struct bpf_cgroup_dev_ctx, minor), 0));
}

/* One rule: a block of tests that jump past its end on a mismatch, then
 * "return verdict".  Jumps are relative, so the block is built first and
 * its skip offsets filled in from its length.  A rule that matches
 * everything (a *:* rwm) returns unconditionally: what would follow it is
 * unreachable, which the verifier rejects, so p->done stops the program
 * there. */
static void
emit_rule (struct prog *p, const struct olrun_cgroup_device_rule *r)
{
  if (p->done)
    return;
  struct bpf_insn blk[8];
  int n = 0;
  if (r->type != 'a')
    blk[n++] = INSN (BPF_JMP32 | BPF_JNE | BPF_K, BPF_REG_2, 0, 0,
                     r->type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR);
  if (r->major >= 0)
    blk[n++] = INSN (BPF_JMP32 | BPF_JNE | BPF_K, BPF_REG_4, 0, 0, (int32_t) r->major);
  if (r->minor >= 0)
    blk[n++] = INSN (BPF_JMP32 | BPF_JNE | BPF_K, BPF_REG_5, 0, 0, (int32_t) r->minor);
  unsigned acc = r->access & RWM;
  if (r->allow && acc != RWM)
    {
      /* Allow only if the request asks for nothing beyond acc. */
      blk[n++] = INSN (BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_6, BPF_REG_3, 0, 0);
      blk[n++] = INSN (BPF_ALU64 | BPF_AND | BPF_K, BPF_REG_6, 0, 0, (int32_t) (~acc & RWM));
      blk[n++] = INSN (BPF_JMP32 | BPF_JNE | BPF_K, BPF_REG_6, 0, 0, 0);
    }
  else if (!r->allow && acc != RWM)
    {
      /* Deny if the request asks for any of acc. */
      blk[n++] = INSN (BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_6, BPF_REG_3, 0, 0);
      blk[n++] = INSN (BPF_ALU64 | BPF_AND | BPF_K, BPF_REG_6, 0, 0, (int32_t) acc);
      blk[n++] = INSN (BPF_JMP32 | BPF_JEQ | BPF_K, BPF_REG_6, 0, 0, 0);
    }
  blk[n++] = INSN (BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, r->allow ? 1 : 0);
  blk[n++] = INSN (BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
  for (int i = 0; i < n; i++)
    {
      if (BPF_CLASS (blk[i].code) == BPF_JMP32)
        blk[i].off = (int16_t) (n - i - 1);
      emit (p, blk[i]);
    }
  p->done = n == 2;
}

int
olrun_cgroup_devices_program (const struct olrun_cgroup_device_rule *rules, size_t n_rules,
                              const struct olrun_cgroup_device_rule *extra, size_t n_extra, void **ret_insns,
                              size_t *ret_count, olrun_error_t *err)
{
  /* Order of precedence, lowest first:
   *   1. runc's two "mknod anything" wildcards;
   *   2. the config's rules;
   *   3. the rest of runc's defaults (so a config cannot take /dev/null
   *      away, as with runc);
   *   4. the devices of linux.devices, rwm.
   * runc puts the wildcards with the other defaults, above the config, so
   * no config can deny mknod.  Below the config, a config that starts with
   * the usual "deny all" denies mknod of devices it does not list, while
   * one without device rules still may mknod anything, as with runc.
   * Emitted last-first, since the first match in the program decides. */
  struct prog p = { 0 };
  emit_prologue (&p);
  for (size_t i = n_extra; i-- > 0;)
    {
      struct olrun_cgroup_device_rule r = extra[i];
      if (r.type == 'u')
        r.type = 'c';
      if (r.type != 'b' && r.type != 'c')
        continue; /* FIFOs are not device-cgroup objects */
      r.allow = true;
      r.access = RWM;
      emit_rule (&p, &r);
    }
  for (size_t i = ARRAY_SIZE (default_rules); i-- > N_MKNOD_WILDCARDS;)
    emit_rule (&p, &default_rules[i]);
  for (size_t i = n_rules; i-- > 0;)
    {
      const struct olrun_cgroup_device_rule *r = &rules[i];
      if (r->type != 'a' && r->type != 'b' && r->type != 'c')
        {
          free (p.v);
          return olrun_invalid (err, "device rule %zu: bad type `%c`", i, r->type);
        }
      emit_rule (&p, r);
    }
  for (size_t i = N_MKNOD_WILDCARDS; i-- > 0;)
    emit_rule (&p, &default_rules[i]);
  if (!p.done)
    {
      emit (&p, INSN (BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0));
      emit (&p, INSN (BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
    }
  *ret_insns = p.v;
  *ret_count = p.len;
  return 0;
}

static int
sys_bpf (int cmd, union bpf_attr *attr)
{
  return (int) syscall (SYS_bpf, cmd, attr, sizeof *attr);
}

static int
load_program (const struct bpf_insn *insns, size_t count, int *ret_fd, olrun_error_t *err)
{
  union bpf_attr attr;
  memset (&attr, 0, sizeof attr);
  attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  attr.insns = (uint64_t) (uintptr_t) insns;
  attr.insn_cnt = (uint32_t) count;
  attr.license = (uint64_t) (uintptr_t) "GPL";
  int fd = sys_bpf (BPF_PROG_LOAD, &attr);
  if (fd < 0 && errno == EPERM)
    {
      /* Before 5.11 BPF memory was charged to RLIMIT_MEMLOCK.  We cannot
       * raise the hard limit (no CAP_SYS_RESOURCE here, 8 MiB), but the
       * soft limit may sit below it; since 5.11 the limit does not apply
       * and this path is not taken. */
      struct rlimit rl;
      if (getrlimit (RLIMIT_MEMLOCK, &rl) == 0 && rl.rlim_cur < rl.rlim_max)
        {
          rl.rlim_cur = rl.rlim_max;
          if (setrlimit (RLIMIT_MEMLOCK, &rl) == 0)
            fd = sys_bpf (BPF_PROG_LOAD, &attr);
        }
      if (fd < 0 && errno == EPERM)
        return olrun_fail (err, EPERM,
                           "load the device cgroup BPF program (needs CAP_SYS_ADMIN or CAP_BPF, and on kernels "
                           "before 5.11 enough RLIMIT_MEMLOCK)");
    }
  if (fd < 0)
    return olrun_fail (err, errno, "load the device cgroup BPF program (%zu instructions)", count);
  *ret_fd = fd;
  return 0;
}

int
olrun_cgroup_devices_attach (int dirfd, const void *insns, size_t count, olrun_error_t *err)
{
  _cleanup_close_ int prog = -1;
  if (load_program (insns, count, &prog, err) < 0)
    return -1;
  union bpf_attr attr;
  memset (&attr, 0, sizeof attr);
  attr.target_fd = (uint32_t) dirfd;
  attr.attach_bpf_fd = (uint32_t) prog;
  attr.attach_type = BPF_CGROUP_DEVICE;
  /* ALLOW_MULTI: programs of the parents (podman's, systemd's) keep
   * running too; a device must pass all of them. */
  attr.attach_flags = BPF_F_ALLOW_MULTI;
  if (sys_bpf (BPF_PROG_ATTACH, &attr) < 0)
    return olrun_fail (err, errno, "attach the device cgroup BPF program");
  /* The cgroup holds the program now; our fd is closed on return. */
  return 0;
}
