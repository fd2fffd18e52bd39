/* The device cgroup program (cgroup/devices.c), run through a small
 * interpreter of the instructions it emits, so its allow/deny decisions
 * are checked without root or a kernel.  The integration and VM tests
 * load the same program into the kernel. */
#include <linux/bpf.h>

#include "test_cgroup_fake.h"

#include "cgroup/internal.h"

#define R OLRUN_DEV_ACC_READ
#define W OLRUN_DEV_ACC_WRITE
#define M OLRUN_DEV_ACC_MKNOD

static int
run (const struct bpf_insn *p, size_t n, char type, unsigned access, uint32_t major, uint32_t minor)
{
  struct bpf_cgroup_dev_ctx ctx = { (access << 16) | (type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR), major,
                                    minor };
  uint64_t reg[11] = { 0 };
  for (size_t pc = 0; pc < n; pc++)
    {
      const struct bpf_insn *i = &p[pc];
      switch (i->code)
        {
        case BPF_LDX | BPF_MEM | BPF_W:
          assert_int_equal (i->src_reg, BPF_REG_1);
          reg[i->dst_reg] = *(const uint32_t *) ((const char *) &ctx + i->off);
          break;
        case BPF_ALU64 | BPF_MOV | BPF_X:
          reg[i->dst_reg] = reg[i->src_reg];
          break;
        case BPF_ALU64 | BPF_MOV | BPF_K:
          reg[i->dst_reg] = (uint64_t) (int64_t) i->imm;
          break;
        case BPF_ALU64 | BPF_RSH | BPF_K:
          reg[i->dst_reg] >>= i->imm;
          break;
        case BPF_ALU64 | BPF_AND | BPF_K:
          reg[i->dst_reg] &= (uint64_t) (int64_t) i->imm;
          break;
        case BPF_JMP32 | BPF_JNE | BPF_K:
          if ((uint32_t) reg[i->dst_reg] != (uint32_t) i->imm)
            pc += (size_t) i->off;
          break;
        case BPF_JMP32 | BPF_JEQ | BPF_K:
          if ((uint32_t) reg[i->dst_reg] == (uint32_t) i->imm)
            pc += (size_t) i->off;
          break;
        case BPF_JMP | BPF_EXIT:
          return (int) reg[0];
        default:
          fail_msg ("unexpected opcode 0x%x at %zu", i->code, pc);
        }
      assert_true (pc < n);
    }
  fail_msg ("ran off the end of the program");
  return -1;
}

struct prog
{
  void *insns;
  size_t n;
};

/* The kernel's verifier rejects unreachable instructions and jumps out of
 * the program: check both, as it would. */
static void
verify (const struct bpf_insn *p, size_t n)
{
  bool *seen = calloc (n, 1);
  size_t stack[512], top = 0;
  stack[top++] = 0;
  while (top > 0)
    {
      size_t pc = stack[--top];
      assert_true (pc < n);
      if (seen[pc])
        continue;
      seen[pc] = true;
      if (p[pc].code == (BPF_JMP | BPF_EXIT))
        continue;
      if (BPF_CLASS (p[pc].code) == BPF_JMP32)
        {
          assert_true (p[pc].off >= 0); /* forward only: no loops */
          assert_true (top < ARRAY_SIZE (stack));
          stack[top++] = pc + 1 + (size_t) p[pc].off;
        }
      assert_true (top < ARRAY_SIZE (stack));
      stack[top++] = pc + 1;
    }
  for (size_t i = 0; i < n; i++)
    if (!seen[i])
      fail_msg ("instruction %zu of %zu is unreachable", i, n);
  free (seen);
}

static struct prog
build (const struct olrun_cgroup_device_rule *rules, size_t n, const struct olrun_cgroup_device_rule *extra,
       size_t n_extra)
{
  struct prog p;
  olrun_error_t err = NULL;
  if (olrun_cgroup_devices_program (rules, n, extra, n_extra, &p.insns, &p.n, &err) < 0)
    fail_msg ("%s", err->msg);
  verify (p.insns, p.n);
  return p;
}

#define ALLOWED(p, t, a, maj, min) assert_int_equal (run ((p).insns, (p).n, t, a, maj, min), 1)
#define DENIED(p, t, a, maj, min) assert_int_equal (run ((p).insns, (p).n, t, a, maj, min), 0)

/* No config rules: runc's defaults only. */
static void
test_defaults (void **state)
{
  struct prog p = build (NULL, 0, NULL, 0);
  ALLOWED (p, 'c', R | W, 1, 3);   /* /dev/null */
  ALLOWED (p, 'c', R, 1, 9);       /* /dev/urandom */
  ALLOWED (p, 'c', R | W, 136, 7); /* /dev/pts/7 */
  ALLOWED (p, 'c', R | W, 5, 2);   /* /dev/ptmx */
  ALLOWED (p, 'c', R | W, 10, 200); /* /dev/net/tun */
  DENIED (p, 'c', R, 1, 11);       /* /dev/kmsg */
  DENIED (p, 'b', R, 8, 0);        /* /dev/sda */
  DENIED (p, 'c', R, 10, 229);     /* /dev/fuse */
  ALLOWED (p, 'c', M, 1, 11);      /* mknod is allowed... */
  ALLOWED (p, 'b', M, 8, 0);       /* ...for any node */
  free (p.insns);
}

/* The usual engine config: deny all, then a few allows. */
static void
test_deny_all_then_allow (void **state)
{
  const struct olrun_cgroup_device_rule rules[] = {
    { false, 'a', -1, -1, R | W | M },
    { true, 'c', 10, 229, R | W },   /* /dev/fuse, no mknod */
    { true, 'b', 7, -1, R },         /* loop devices read-only */
  };
  struct prog p = build (rules, ARRAY_SIZE (rules), NULL, 0);
  ALLOWED (p, 'c', R | W, 10, 229);
  DENIED (p, 'c', M, 10, 229);     /* the rule grants no m */
  ALLOWED (p, 'b', R, 7, 3);
  DENIED (p, 'b', W, 7, 3);
  DENIED (p, 'b', R | W, 7, 3);    /* an "r" rule does not allow O_RDWR */
  DENIED (p, 'b', M, 8, 0);        /* deny-all sits above the mknod wildcards */
  DENIED (p, 'c', M, 1, 11);
  ALLOWED (p, 'c', R | W | M, 1, 3); /* runc's defaults win over the config */
  free (p.insns);
}

static void
test_last_rule_wins (void **state)
{
  const struct olrun_cgroup_device_rule rules[] = {
    { true, 'a', -1, -1, R | W | M }, /* privileged */
    { false, 'c', 1, 11, W },         /* but no writing to /dev/kmsg */
    { false, 'b', -1, -1, R | W },
    { true, 'b', 8, 0, R },
  };
  struct prog p = build (rules, ARRAY_SIZE (rules), NULL, 0);
  ALLOWED (p, 'c', R, 1, 11);
  DENIED (p, 'c', W, 1, 11);
  DENIED (p, 'c', R | W, 1, 11);   /* a deny rule matches any access it names */
  ALLOWED (p, 'b', R, 8, 0);
  DENIED (p, 'b', W, 8, 0);
  DENIED (p, 'b', R, 8, 16);
  ALLOWED (p, 'b', M, 8, 16);
  ALLOWED (p, 'c', R | W, 4, 1);   /* /dev/tty1 through the allow-all */
  free (p.insns);
}

/* linux.devices entries are allowed rwm, above everything. */
static void
test_linux_devices_allowed (void **state)
{
  const struct olrun_cgroup_device_rule rules[] = { { false, 'a', -1, -1, R | W | M } };
  const struct olrun_cgroup_device_rule extra[] = {
    { true, 'c', 10, 229, 0 },
    { true, 'u', 1, 11, 0 },   /* unbuffered char = char */
    { true, 'p', 0, 0, 0 },    /* FIFO: no rule */
  };
  struct prog p = build (rules, ARRAY_SIZE (rules), extra, ARRAY_SIZE (extra));
  ALLOWED (p, 'c', R | W | M, 10, 229);
  ALLOWED (p, 'c', R, 1, 11);
  DENIED (p, 'b', R, 0, 0);
  free (p.insns);
}

/* "a *:* rwm" first: everything after it in the program is unreachable. */
static void
test_unconditional_rule (void **state)
{
  const struct olrun_cgroup_device_rule deny[] = { { false, 'a', -1, -1, R | W | M } };
  struct prog p = build (deny, 1, NULL, 0);
  ALLOWED (p, 'c', R | W, 1, 3);
  DENIED (p, 'c', M, 1, 1);
  DENIED (p, 'b', R, 8, 0);
  free (p.insns);
  const struct olrun_cgroup_device_rule allow[] = { { true, 'a', -1, -1, R | W | M } };
  p = build (allow, 1, NULL, 0);
  ALLOWED (p, 'b', R | W, 8, 0);
  free (p.insns);
}

static void
test_bad_type (void **state)
{
  const struct olrun_cgroup_device_rule rules[] = { { true, 'x', 1, 1, R } };
  void *insns = NULL;
  size_t n = 0;
  olrun_error_t err = NULL;
  assert_int_equal (olrun_cgroup_devices_program (rules, 1, NULL, 0, &insns, &n, &err), -1);
  assert_non_null (strstr (err->msg, "bad type"));
  assert_null (insns);
  olrun_error_release (&err);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_defaults),          cmocka_unit_test (test_deny_all_then_allow),
    cmocka_unit_test (test_last_rule_wins),    cmocka_unit_test (test_linux_devices_allowed),
    cmocka_unit_test (test_unconditional_rule), cmocka_unit_test (test_bad_type),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
