/* Capabilities: names from process.capabilities to bitmasks, and applying
 * the five sets.  This is the only file that uses libcap. */
#include <linux/capability.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>

#include "olrun/log.h"
#include "olrun/spec.h"
#include "olrun/util.h"
#include "runtime/caps.h"

/* The highest capability the running kernel knows.  Names above it are
 * dropped with a debug line, as runc does, so a config written for a newer
 * kernel still runs. */
int
olrun_caps_last_cap (void)
{
  static int last = -1;
  if (last >= 0)
    return last;
  char buf[16] = { 0 };
  FILE *f = fopen ("/proc/sys/kernel/cap_last_cap", "re");
  if (f && fgets (buf, sizeof buf, f))
    last = atoi (buf);
  if (f)
    fclose (f);
  if (last <= 0)
    last = CAP_LAST_CAP;
  return last;
}

char *
olrun_caps_name (int cap)
{
  char *name = cap_to_name ((cap_value_t) cap);
  if (name == NULL)
    return NULL;
  char *ret = NULL;
  if (strncmp (name, "cap_", 4) == 0)
    {
      ret = xstrdup (name);
      for (char *c = ret; *c; c++)
        *c = (char) (*c >= 'a' && *c <= 'z' ? *c - 'a' + 'A' : *c);
    }
  cap_free (name);
  return ret;
}

static int
parse_set (const struct olrun_jdec *d, const olrun_json_t *caps, const struct olrun_jpath *p, const char *key,
           uint64_t *ret)
{
  bool failed = false;
  const olrun_json_t *arr = olrun_jdec_member (d, caps, p, key, OLRUN_JSON_ARRAY, false, &failed);
  if (arr == NULL)
    return failed ? -1 : 0;
  struct olrun_jpath kp = OLRUN_JPATH_KEY (p, key);
  int last = olrun_caps_last_cap ();
  for (size_t i = 0; i < arr->u.array.len; i++)
    {
      const olrun_json_t *n = arr->u.array.items[i];
      struct olrun_jpath ip = OLRUN_JPATH_INDEX (&kp, i);
      if (olrun_jdec_expect (d, n, &ip, OLRUN_JSON_STRING) < 0)
        return -1;
      const char *name = n->u.string.str;
      cap_value_t v;
      /* libcap also accepts lower case and bare numbers; the spec does not. */
      if (strncmp (name, "CAP_", 4) != 0 || cap_from_name (name, &v) < 0 || v < 0 || v > 63)
        return olrun_jdec_error (d, &ip, n, "unknown capability `%s`", name);
      if (v > last)
        {
          olrun_debug ("capability %s is not known to the running kernel; dropped", name);
          continue;
        }
      *ret |= UINT64_C (1) << v;
    }
  return 0;
}

int
olrun_spec_parse_capabilities (const struct olrun_jdec *d, const olrun_json_t *node, const struct olrun_jpath *p,
                               struct olrun_capsets *ret)
{
  memset (ret, 0, sizeof *ret);
  return parse_set (d, node, p, "bounding", &ret->bounding) < 0
                 || parse_set (d, node, p, "effective", &ret->effective) < 0
                 || parse_set (d, node, p, "permitted", &ret->permitted) < 0
                 || parse_set (d, node, p, "inheritable", &ret->inheritable) < 0
                 || parse_set (d, node, p, "ambient", &ret->ambient) < 0
             ? -1
             : 0;
}

/* Drop from the bounding set what the config does not keep.  Needs
 * CAP_SETPCAP in the effective set, so it runs before the uid changes. */
int
olrun_caps_drop_bounding (uint64_t keep, olrun_error_t *err)
{
  int last = olrun_caps_last_cap ();
  for (int c = 0; c <= last; c++)
    {
      if (keep & (UINT64_C (1) << c))
        continue;
      if (prctl (PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
        return olrun_fail (err, errno, "drop capability %d from the bounding set", c);
    }
  return 0;
}

int
olrun_caps_apply (const struct olrun_capsets *c, olrun_error_t *err)
{
  /* capset() takes the three classic sets; libcap builds them for us. */
  cap_t caps = cap_init ();
  if (caps == NULL)
    return olrun_fail (err, errno, "cap_init");
  int last = olrun_caps_last_cap ();
  for (int v = 0; v <= last; v++)
    {
      cap_value_t cv = v;
      uint64_t bit = UINT64_C (1) << v;
      if (c->effective & bit)
        cap_set_flag (caps, CAP_EFFECTIVE, 1, &cv, CAP_SET);
      if (c->permitted & bit)
        cap_set_flag (caps, CAP_PERMITTED, 1, &cv, CAP_SET);
      if (c->inheritable & bit)
        cap_set_flag (caps, CAP_INHERITABLE, 1, &cv, CAP_SET);
    }
  int rc = cap_set_proc (caps);
  int e = errno;
  cap_free (caps);
  if (rc < 0)
    return olrun_fail (err, e, "set capabilities");
  /* An ambient capability must also be permitted and inheritable; the
   * kernel refuses the others with EPERM.  runc and crun skip those (runc's
   * own default config asks for ambient caps without inheritable ones), so
   * we do too, with a debug line. */
  if (prctl (PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
    return olrun_fail (err, errno, "clear ambient capabilities");
  for (int v = 0; v <= last; v++)
    {
      if (!(c->ambient & (UINT64_C (1) << v)) || prctl (PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, v, 0, 0) == 0)
        continue;
      if (errno != EPERM && errno != EINVAL)
        return olrun_fail (err, errno, "raise ambient capability %d", v);
      olrun_debug ("ambient capability %d not raised: it is not both permitted and inheritable", v);
    }
  return 0;
}
