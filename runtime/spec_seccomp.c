/* linux.seccomp -> struct olrun_seccomp.  Everything the config can get
 * wrong is refused here, where the JSON path and byte offset are known;
 * seccomp/ then only meets problems of the host (libseccomp, the kernel). */
#include <string.h>

#include "olrun/spec.h"
#include "olrun/util.h"

/* The kernel caps an errno at MAX_ERRNO; a bigger errnoRet would silently
 * become 4095, so it is refused instead.  TRACE's value is the 16-bit
 * message a tracer reads with PTRACE_GETEVENTMSG. */
#define ERRNO_MAX 4095
#define TRACE_MSG_MAX 0xffff

/* Look an enum name up; errors name the member and list nothing else,
 * because the tables are long and the spec documents them. */
static int
decode_name (const struct olrun_jdec *d, const olrun_json_t *obj, const struct olrun_jpath *p, const char *key,
             bool required, int (*from_name) (const char *), const char *what, int *ret)
{
  _cleanup_free_ char *name = NULL;
  if (olrun_jdec_string (d, obj, p, key, required, &name) < 0)
    return -1;
  if (name == NULL)
    return 0;
  int v = from_name (name);
  if (v < 0)
    {
      struct olrun_jpath kp = OLRUN_JPATH_KEY (p, key);
      return olrun_jdec_error (d, &kp, olrun_json_get (obj, key), "unknown seccomp %s `%s`", what, name);
    }
  *ret = v;
  return 0;
}

/* errnoRet / defaultErrnoRet: only ERRNO and TRACE carry a value (the
 * runtime-spec says to fail otherwise). */
static int
decode_errno_ret (const struct olrun_jdec *d, const olrun_json_t *obj, const struct olrun_jpath *p,
                  const char *key, enum olrun_seccomp_action action, bool *has, uint16_t *ret)
{
  const olrun_json_t *n = olrun_json_get (obj, key);
  if (n == NULL || n->type == OLRUN_JSON_NULL)
    return 0;
  struct olrun_jpath kp = OLRUN_JPATH_KEY (p, key);
  if (action != OLRUN_SCMP_ACT_ERRNO && action != OLRUN_SCMP_ACT_TRACE)
    return olrun_jdec_error (d, &kp, n, "only SCMP_ACT_ERRNO and SCMP_ACT_TRACE take an errno value, not %s",
                             olrun_seccomp_action_name (action));
  int64_t max = action == OLRUN_SCMP_ACT_ERRNO ? ERRNO_MAX : TRACE_MSG_MAX, v = 0;
  if (olrun_jdec_int64 (d, obj, p, key, 0, max, &v, has) < 0)
    return -1;
  *ret = (uint16_t) v;
  return 0;
}

static int
parse_arg (const struct olrun_jdec *d, const olrun_json_t *e, const struct olrun_jpath *ip,
           struct olrun_seccomp_arg *a)
{
  int64_t index = -1;
  bool has_value = false;
  int op = -1;
  if (olrun_jdec_expect (d, e, ip, OLRUN_JSON_OBJECT) < 0
      || olrun_jdec_int64 (d, e, ip, "index", 0, 5, &index, NULL) < 0
      || olrun_jdec_uint64 (d, e, ip, "value", &a->value, &has_value) < 0
      || olrun_jdec_uint64 (d, e, ip, "valueTwo", &a->value_two, NULL) < 0
      || decode_name (d, e, ip, "op", true, olrun_seccomp_op_from_name, "operator", &op) < 0)
    return -1;
  if (index < 0 || !has_value)
    return olrun_jdec_error (d, ip, e, "index, value and op are required");
  a->index = (unsigned) index;
  a->op = op;
  return 0;
}

static int
parse_args (const struct olrun_jdec *d, const olrun_json_t *obj, const struct olrun_jpath *p,
            struct olrun_seccomp_rule *r)
{
  bool failed = false;
  const olrun_json_t *arr = olrun_jdec_member (d, obj, p, "args", OLRUN_JSON_ARRAY, false, &failed);
  if (arr == NULL)
    return failed ? -1 : 0;
  struct olrun_jpath ap = OLRUN_JPATH_KEY (p, "args");
  r->args = xzalloc (arr->u.array.len * sizeof *r->args);
  for (size_t i = 0; i < arr->u.array.len; i++)
    {
      struct olrun_jpath ip = OLRUN_JPATH_INDEX (&ap, i);
      if (parse_arg (d, arr->u.array.items[i], &ip, &r->args[r->n_args++]) < 0)
        return -1;
    }
  return 0;
}

/* NOTIFY on a syscall the runtime needs to hand the listener over would
 * block the container before its agent could ever answer. */
static int
check_notify_names (const struct olrun_jdec *d, const olrun_json_t *obj, const struct olrun_jpath *p,
                    const struct olrun_seccomp_rule *r)
{
  for (size_t i = 0; r->names[i]; i++)
    for (size_t k = 0; olrun_seccomp_handoff_syscalls[k]; k++)
      if (strcmp (r->names[i], olrun_seccomp_handoff_syscalls[k]) == 0)
        {
          struct olrun_jpath np = OLRUN_JPATH_KEY (p, "names");
          struct olrun_jpath ip = OLRUN_JPATH_INDEX (&np, i);
          return olrun_jdec_error (d, &ip, olrun_json_get (obj, "names")->u.array.items[i],
                                   "SCMP_ACT_NOTIFY cannot be used for the %s syscall: olrun needs it to hand "
                                   "the listener to the agent",
                                   r->names[i]);
        }
  return 0;
}

static int
parse_rule (const struct olrun_jdec *d, const olrun_json_t *obj, const struct olrun_jpath *p,
            struct olrun_seccomp_rule *r)
{
  int action = -1;
  if (olrun_jdec_expect (d, obj, p, OLRUN_JSON_OBJECT) < 0
      || olrun_jdec_strv (d, obj, p, "names", true, &r->names) < 0
      || decode_name (d, obj, p, "action", true, olrun_seccomp_action_from_name, "action", &action) < 0)
    return -1;
  r->action = action;
  if (r->names[0] == NULL)
    {
      struct olrun_jpath np = OLRUN_JPATH_KEY (p, "names");
      return olrun_jdec_error (d, &np, olrun_json_get (obj, "names"), "must name at least one syscall");
    }
  if (decode_errno_ret (d, obj, p, "errnoRet", r->action, &r->has_errno_ret, &r->errno_ret) < 0
      || parse_args (d, obj, p, r) < 0)
    return -1;
  if (r->action == OLRUN_SCMP_ACT_NOTIFY)
    return check_notify_names (d, obj, p, r);
  return 0;
}

static int
parse_rules (const struct olrun_jdec *d, const olrun_json_t *node, const struct olrun_jpath *p,
             struct olrun_seccomp *s)
{
  bool failed = false;
  const olrun_json_t *arr = olrun_jdec_member (d, node, p, "syscalls", OLRUN_JSON_ARRAY, false, &failed);
  if (arr == NULL)
    return failed ? -1 : 0;
  struct olrun_jpath ap = OLRUN_JPATH_KEY (p, "syscalls");
  s->rules = xzalloc (arr->u.array.len * sizeof *s->rules);
  for (size_t i = 0; i < arr->u.array.len; i++)
    {
      struct olrun_jpath ip = OLRUN_JPATH_INDEX (&ap, i);
      struct olrun_seccomp_rule *r = &s->rules[s->n_rules++];
      if (parse_rule (d, arr->u.array.items[i], &ip, r) < 0)
        return -1;
      s->uses_notify |= r->action == OLRUN_SCMP_ACT_NOTIFY;
    }
  return 0;
}

/* An array of names through a lookup table, into ret[i] (arches) or OR-ed
 * into *bits (flags). */
static int
parse_name_list (const struct olrun_jdec *d, const olrun_json_t *node, const struct olrun_jpath *p, const char *key,
                 int (*from_name) (const char *), const char *what, int **ret, size_t *n_ret)
{
  _cleanup_strv_ char **names = NULL;
  if (olrun_jdec_strv (d, node, p, key, false, &names) < 0)
    return -1;
  size_t n = strv_length (names);
  _cleanup_free_ int *v = xzalloc (n * sizeof *v);
  struct olrun_jpath kp = OLRUN_JPATH_KEY (p, key);
  for (size_t i = 0; i < n; i++)
    {
      v[i] = from_name (names[i]);
      if (v[i] < 0)
        {
          struct olrun_jpath ip = OLRUN_JPATH_INDEX (&kp, i);
          return olrun_jdec_error (d, &ip, olrun_json_get (node, key)->u.array.items[i], "unknown seccomp %s `%s`",
                                   what, names[i]);
        }
    }
  *ret = TAKE_PTR (v);
  *n_ret = n;
  return 0;
}

static int
parse_top (const struct olrun_jdec *d, const olrun_json_t *node, const struct olrun_jpath *p,
           struct olrun_seccomp *s)
{
  int action = -1;
  _cleanup_free_ int *arches = NULL, *flags = NULL;
  size_t n_flags = 0;
  if (decode_name (d, node, p, "defaultAction", true, olrun_seccomp_action_from_name, "action", &action) < 0)
    return -1;
  s->default_action = action;
  if (decode_errno_ret (d, node, p, "defaultErrnoRet", s->default_action, &s->has_default_errno_ret,
                        &s->default_errno_ret) < 0
      || parse_name_list (d, node, p, "architectures", olrun_seccomp_arch_from_name, "architecture", &arches,
                          &s->n_arches) < 0
      || parse_name_list (d, node, p, "flags", olrun_seccomp_flag_from_name, "flag", &flags, &n_flags) < 0
      || olrun_jdec_string (d, node, p, "listenerPath", false, &s->listener_path) < 0
      || olrun_jdec_string (d, node, p, "listenerMetadata", false, &s->listener_metadata) < 0)
    return -1;
  s->arches = xzalloc (s->n_arches * sizeof *s->arches);
  for (size_t i = 0; i < s->n_arches; i++)
    s->arches[i] = arches[i];
  for (size_t i = 0; i < n_flags; i++)
    s->flags |= (unsigned) flags[i];
  return 0;
}

/* Rules that need the whole profile. */
static int
check_profile (const struct olrun_jdec *d, const olrun_json_t *node, const struct olrun_jpath *p,
               const struct olrun_seccomp *s)
{
  /* As runc: a NOTIFY default would catch the hand-over of the listener too. */
  if (s->default_action == OLRUN_SCMP_ACT_NOTIFY)
    {
      struct olrun_jpath kp = OLRUN_JPATH_KEY (p, "defaultAction");
      return olrun_jdec_error (d, &kp, olrun_json_get (node, "defaultAction"),
                               "SCMP_ACT_NOTIFY cannot be used as the default action");
    }
  if (s->uses_notify && (s->listener_path == NULL || *s->listener_path == '\0'))
    return olrun_jdec_error (d, p, node, "SCMP_ACT_NOTIFY needs listenerPath: nobody could answer the calls");
  /* The kernel refuses this flag without a listener. */
  if ((s->flags & OLRUN_SCMP_FLAG_WAIT_KILLABLE_RECV) && !s->uses_notify)
    {
      struct olrun_jpath kp = OLRUN_JPATH_KEY (p, "flags");
      return olrun_jdec_error (d, &kp, olrun_json_get (node, "flags"),
                               "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV needs an SCMP_ACT_NOTIFY rule");
    }
  return 0;
}

int
olrun_spec_parse_seccomp (const struct olrun_jdec *d, const olrun_json_t *node, const struct olrun_jpath *p,
                          struct olrun_seccomp **ret)
{
  if (olrun_jdec_expect (d, node, p, OLRUN_JSON_OBJECT) < 0)
    return -1;
  struct olrun_seccomp *s = olrun_seccomp_new ();
  if (parse_top (d, node, p, s) < 0 || parse_rules (d, node, p, s) < 0 || check_profile (d, node, p, s) < 0)
    {
      olrun_seccomp_free (s);
      return -1;
    }
  *ret = s;
  return 0;
}
