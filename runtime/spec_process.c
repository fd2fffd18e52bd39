/* The process attributes beyond credentials: process.scheduler,
 * process.ioPriority, linux.personality and linux.memoryPolicy (runtime-spec
 * 1.2 and 1.3).  Every value is checked here, so a config the kernel would
 * refuse halfway through setup is refused before anything exists. */
#include <linux/ioprio.h>
#include <linux/mempolicy.h>
#include <linux/sched.h>
#include <string.h>
#include <sys/personality.h>

#include "olrun/spec.h"
#include "olrun/util.h"
#include "runtime/spec_internal.h"

/* Linux 6.1's uapi headers predate these. */
#ifndef MPOL_PREFERRED_MANY
#define MPOL_PREFERRED_MANY 5
#endif
#define OLRUN_MPOL_WEIGHTED_INTERLEAVE 6
#define OLRUN_MPOL_F_NUMA_BALANCING (1 << 13)
#define OLRUN_MPOL_F_RELATIVE_NODES (1 << 14)
#define OLRUN_MPOL_F_STATIC_NODES (1 << 15)

struct name_value
{
  const char *name;
  long value;
};

static long
lookup (const struct name_value *t, size_t n, const char *name)
{
  for (size_t i = 0; i < n; i++)
    if (strcmp (t[i].name, name) == 0)
      return t[i].value;
  return -1;
}

static const struct name_value sched_policies[] = {
  { "SCHED_OTHER", SCHED_NORMAL }, { "SCHED_FIFO", SCHED_FIFO }, { "SCHED_RR", SCHED_RR },
  { "SCHED_BATCH", SCHED_BATCH },  { "SCHED_IDLE", SCHED_IDLE }, { "SCHED_DEADLINE", SCHED_DEADLINE },
};

static const struct name_value sched_flags[] = {
  { "SCHED_FLAG_RESET_ON_FORK", SCHED_FLAG_RESET_ON_FORK }, { "SCHED_FLAG_RECLAIM", SCHED_FLAG_RECLAIM },
  { "SCHED_FLAG_DL_OVERRUN", SCHED_FLAG_DL_OVERRUN },       { "SCHED_FLAG_KEEP_POLICY", SCHED_FLAG_KEEP_POLICY },
  { "SCHED_FLAG_KEEP_PARAMS", SCHED_FLAG_KEEP_PARAMS },     { "SCHED_FLAG_UTIL_CLAMP_MIN", SCHED_FLAG_UTIL_CLAMP_MIN },
  { "SCHED_FLAG_UTIL_CLAMP_MAX", SCHED_FLAG_UTIL_CLAMP_MAX },
};

/* Each string of arr[key] looked up in t and or'ed into *ret. */
static int
parse_flag_names (const struct olrun_jdec *d, const olrun_json_t *obj, const struct olrun_jpath *p, const char *key,
                  const struct name_value *t, size_t n, uint64_t *ret)
{
  bool failed = false;
  const olrun_json_t *arr = olrun_jdec_member (d, obj, p, key, OLRUN_JSON_ARRAY, false, &failed);
  if (arr == NULL)
    return failed ? -1 : 0;
  struct olrun_jpath ap = OLRUN_JPATH_KEY (p, key);
  for (size_t i = 0; i < arr->u.array.len; i++)
    {
      const olrun_json_t *e = arr->u.array.items[i];
      struct olrun_jpath ip = OLRUN_JPATH_INDEX (&ap, i);
      if (olrun_jdec_expect (d, e, &ip, OLRUN_JSON_STRING) < 0)
        return -1;
      long v = lookup (t, n, e->u.string.str);
      if (v < 0)
        return olrun_jdec_error (d, &ip, e, "unknown flag `%s`", e->u.string.str);
      *ret |= (uint64_t) v;
    }
  return 0;
}

/* The combinations sched_setattr accepts (runc's validator has the same
 * rules): a priority only for the real-time policies, the deadline
 * parameters only for SCHED_DEADLINE. */
static int
check_scheduler (const struct olrun_jdec *d, const olrun_json_t *s, const struct olrun_jpath *sp,
                 const struct olrun_scheduler *sc)
{
  bool rt = sc->policy == SCHED_FIFO || sc->policy == SCHED_RR;
  if (rt && (sc->priority < 1 || sc->priority > 99))
    return olrun_jdec_error (d, sp, s, "SCHED_FIFO and SCHED_RR need a priority from 1 to 99");
  if (!rt && sc->priority != 0)
    return olrun_jdec_error (d, sp, s, "a priority is only valid with SCHED_FIFO or SCHED_RR");
  if (sc->policy != SCHED_DEADLINE && (sc->runtime || sc->deadline || sc->period))
    return olrun_jdec_error (d, sp, s, "runtime, deadline and period are only valid with SCHED_DEADLINE");
  if (sc->policy == SCHED_DEADLINE
      && (sc->runtime == 0 || sc->runtime > sc->deadline || (sc->period && sc->deadline > sc->period)))
    return olrun_jdec_error (d, sp, s, "SCHED_DEADLINE needs 0 < runtime <= deadline <= period");
  return 0;
}

static int
parse_scheduler (const struct olrun_jdec *d, const olrun_json_t *proc, const struct olrun_jpath *pp,
                 struct olrun_process *p)
{
  bool failed = false;
  const olrun_json_t *s = olrun_jdec_member (d, proc, pp, "scheduler", OLRUN_JSON_OBJECT, false, &failed);
  if (s == NULL)
    return failed ? -1 : 0;
  struct olrun_jpath sp = OLRUN_JPATH_KEY (pp, "scheduler");
  _cleanup_free_ char *policy = NULL;
  int64_t nice = 0, prio = 0;
  struct olrun_scheduler *sc = p->scheduler = xzalloc (sizeof *sc);
  if (olrun_jdec_string (d, s, &sp, "policy", true, &policy) < 0
      || olrun_jdec_int64 (d, s, &sp, "nice", -20, 19, &nice, NULL) < 0
      || olrun_jdec_int64 (d, s, &sp, "priority", 0, 99, &prio, NULL) < 0
      || olrun_jdec_uint64 (d, s, &sp, "runtime", &sc->runtime, NULL) < 0
      || olrun_jdec_uint64 (d, s, &sp, "deadline", &sc->deadline, NULL) < 0
      || olrun_jdec_uint64 (d, s, &sp, "period", &sc->period, NULL) < 0
      || parse_flag_names (d, s, &sp, "flags", sched_flags, ARRAY_SIZE (sched_flags), &sc->flags) < 0)
    return -1;
  long v = lookup (sched_policies, ARRAY_SIZE (sched_policies), policy);
  if (v < 0)
    {
      struct olrun_jpath pol = OLRUN_JPATH_KEY (&sp, "policy");
      /* SCHED_ISO is in the spec but was never merged into Linux. */
      return olrun_jdec_error (d, &pol, olrun_json_get (s, "policy"), "%s `%s`",
                               strcmp (policy, "SCHED_ISO") == 0 ? "Linux has no scheduling policy"
                                                                 : "unknown scheduling policy",
                               policy);
    }
  sc->policy = (int) v;
  sc->nice = (int) nice;
  sc->priority = (int) prio;
  return check_scheduler (d, s, &sp, sc);
}

static int
parse_io_priority (const struct olrun_jdec *d, const olrun_json_t *proc, const struct olrun_jpath *pp,
                   struct olrun_process *p)
{
  static const struct name_value classes[] = {
    { "IOPRIO_CLASS_RT", IOPRIO_CLASS_RT }, { "IOPRIO_CLASS_BE", IOPRIO_CLASS_BE },
    { "IOPRIO_CLASS_IDLE", IOPRIO_CLASS_IDLE },
  };
  bool failed = false;
  const olrun_json_t *io = olrun_jdec_member (d, proc, pp, "ioPriority", OLRUN_JSON_OBJECT, false, &failed);
  if (io == NULL)
    return failed ? -1 : 0;
  struct olrun_jpath ip = OLRUN_JPATH_KEY (pp, "ioPriority");
  _cleanup_free_ char *klass = NULL;
  int64_t prio = 0;
  if (olrun_jdec_string (d, io, &ip, "class", true, &klass) < 0
      || olrun_jdec_int64 (d, io, &ip, "priority", 0, 7, &prio, NULL) < 0)
    return -1;
  long v = lookup (classes, ARRAY_SIZE (classes), klass);
  if (v < 0)
    {
      struct olrun_jpath cp = OLRUN_JPATH_KEY (&ip, "class");
      return olrun_jdec_error (d, &cp, olrun_json_get (io, "class"), "unknown I/O priority class `%s`", klass);
    }
  p->io_priority = (struct olrun_io_priority){ .set = true, .klass = (int) v, .priority = (int) prio };
  return 0;
}

int
olrun_spec_parse_process_sched (const struct olrun_jdec *d, const olrun_json_t *node, const struct olrun_jpath *p,
                                struct olrun_process *ret)
{
  return parse_scheduler (d, node, p, ret) < 0 || parse_io_priority (d, node, p, ret) < 0 ? -1 : 0;
}

static int
parse_personality (const struct olrun_jdec *d, const olrun_json_t *lin, const struct olrun_jpath *lp,
                   struct olrun_linux *l)
{
  bool failed = false;
  const olrun_json_t *o = olrun_jdec_member (d, lin, lp, "personality", OLRUN_JSON_OBJECT, false, &failed);
  if (o == NULL)
    return failed ? -1 : 0;
  struct olrun_jpath op = OLRUN_JPATH_KEY (lp, "personality");
  _cleanup_free_ char *domain = NULL;
  _cleanup_strv_ char **flags = NULL;
  if (olrun_jdec_string (d, o, &op, "domain", true, &domain) < 0
      || olrun_jdec_strv (d, o, &op, "flags", false, &flags) < 0)
    return -1;
  struct olrun_jpath dp = OLRUN_JPATH_KEY (&op, "domain");
  if (strcmp (domain, "LINUX") == 0)
    l->personality = PER_LINUX;
  else if (strcmp (domain, "LINUX32") == 0)
    l->personality = PER_LINUX32;
  else
    return olrun_jdec_error (d, &dp, olrun_json_get (o, "domain"), "unknown personality domain `%s`", domain);
  /* The spec defines no flags yet: any is unknown. */
  if (flags && flags[0])
    {
      struct olrun_jpath fp = OLRUN_JPATH_KEY (&op, "flags");
      return olrun_jdec_error (d, &fp, olrun_json_get (o, "flags"), "unknown personality flag `%s`", flags[0]);
    }
  l->has_personality = true;
  return 0;
}

/* "0-3,7" into the node bitmask. */
static int
parse_nodes (const char *s, struct olrun_memory_policy *mp)
{
  const unsigned long bits = 8 * sizeof mp->nodes;
  const unsigned long per = 8 * sizeof mp->nodes[0];
  _cleanup_free_ char *copy = xstrdup (s);
  char *save = NULL;
  for (char *r = strtok_r (copy, ",", &save); r; r = strtok_r (NULL, ",", &save))
    {
      char *dash = strchr (r, '-');
      int64_t lo, hi;
      if (dash)
        *dash = '\0';
      if (olrun_parse_int64 (r, &lo) < 0 || (dash && olrun_parse_int64 (dash + 1, &hi) < 0))
        return -1;
      if (!dash)
        hi = lo;
      if (lo < 0 || hi < lo || (unsigned long) hi >= bits)
        return -1;
      for (int64_t n = lo; n <= hi; n++)
        mp->nodes[n / per] |= 1UL << (n % per);
      if ((unsigned long) hi + 1 > mp->maxnode)
        mp->maxnode = (unsigned long) hi + 1;
    }
  return 0;
}

static const struct name_value mpol_modes[] = {
  { "MPOL_DEFAULT", MPOL_DEFAULT },     { "MPOL_PREFERRED", MPOL_PREFERRED },
  { "MPOL_BIND", MPOL_BIND },           { "MPOL_INTERLEAVE", MPOL_INTERLEAVE },
  { "MPOL_LOCAL", MPOL_LOCAL },         { "MPOL_PREFERRED_MANY", MPOL_PREFERRED_MANY },
  { "MPOL_WEIGHTED_INTERLEAVE", OLRUN_MPOL_WEIGHTED_INTERLEAVE },
};
static const struct name_value mpol_flags[] = {
  { "MPOL_F_NUMA_BALANCING", OLRUN_MPOL_F_NUMA_BALANCING },
  { "MPOL_F_RELATIVE_NODES", OLRUN_MPOL_F_RELATIVE_NODES },
  { "MPOL_F_STATIC_NODES", OLRUN_MPOL_F_STATIC_NODES },
};

const char *
olrun_spec_mempolicy_mode_name (size_t i)
{
  return i < ARRAY_SIZE (mpol_modes) ? mpol_modes[i].name : NULL;
}

const char *
olrun_spec_mempolicy_flag_name (size_t i)
{
  return i < ARRAY_SIZE (mpol_flags) ? mpol_flags[i].name : NULL;
}

static int
parse_memory_policy (const struct olrun_jdec *d, const olrun_json_t *lin, const struct olrun_jpath *lp,
                     struct olrun_linux *l)
{
  bool failed = false;
  const olrun_json_t *o = olrun_jdec_member (d, lin, lp, "memoryPolicy", OLRUN_JSON_OBJECT, false, &failed);
  if (o == NULL)
    return failed ? -1 : 0;
  struct olrun_jpath op = OLRUN_JPATH_KEY (lp, "memoryPolicy");
  _cleanup_free_ char *mode = NULL, *nodes = NULL;
  uint64_t f = 0;
  struct olrun_memory_policy *mp = l->memory_policy = xzalloc (sizeof *mp);
  if (olrun_jdec_string (d, o, &op, "mode", true, &mode) < 0
      || olrun_jdec_string (d, o, &op, "nodes", false, &nodes) < 0
      || parse_flag_names (d, o, &op, "flags", mpol_flags, ARRAY_SIZE (mpol_flags), &f) < 0)
    return -1;
  long m = lookup (mpol_modes, ARRAY_SIZE (mpol_modes), mode);
  if (m < 0)
    {
      struct olrun_jpath mp_ = OLRUN_JPATH_KEY (&op, "mode");
      return olrun_jdec_error (d, &mp_, olrun_json_get (o, "mode"), "unknown memory policy mode `%s`", mode);
    }
  struct olrun_jpath np = OLRUN_JPATH_KEY (&op, "nodes");
  if (nodes && *nodes && parse_nodes (nodes, mp) < 0)
    return olrun_jdec_error (d, &np, olrun_json_get (o, "nodes"), "invalid node list `%s` (want e.g. 0-3,7)",
                             nodes);
  /* set_mempolicy: MPOL_DEFAULT and MPOL_LOCAL take no nodes; the others
   * but MPOL_PREFERRED need some. */
  bool none = m == MPOL_DEFAULT || m == MPOL_LOCAL;
  if (none && (mp->maxnode || f))
    return olrun_jdec_error (d, &op, o, "%s takes neither nodes nor flags", mode);
  if (!none && m != MPOL_PREFERRED && mp->maxnode == 0)
    return olrun_jdec_error (d, &np, o, "%s needs nodes", mode);
  if ((f & OLRUN_MPOL_F_STATIC_NODES) && (f & OLRUN_MPOL_F_RELATIVE_NODES))
    return olrun_jdec_error (d, &op, o, "MPOL_F_STATIC_NODES and MPOL_F_RELATIVE_NODES exclude each other");
  mp->mode = (int) (m | (long) f);
  return 0;
}

int
olrun_spec_parse_linux_process (const struct olrun_jdec *d, const olrun_json_t *lin, const struct olrun_jpath *p,
                                struct olrun_linux *ret)
{
  return parse_personality (d, lin, p, ret) < 0 || parse_memory_policy (d, lin, p, ret) < 0 ? -1 : 0;
}
