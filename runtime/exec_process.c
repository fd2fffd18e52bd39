/* The process an `exec` starts: the container's own process as saved at
 * create (or a `process` object from -p), with exec's options on top.
 * Everything is checked here, in the parent, before any process exists. */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "olrun/json.h"
#include "olrun/spec.h"
#include "olrun/syscalls.h"
#include "olrun/util.h"
#include "runtime/caps.h"
#include "runtime/exec.h"

/* /etc/passwd or /etc/group are the container's: they may be huge or not
 * files at all, so they are opened without blocking and size-capped. */
#define MAX_DB_SIZE (16u << 20)

static int
load_process_file (const char *path, struct olrun_process **ret, olrun_error_t *err)
{
  _cleanup_json_doc_ olrun_json_doc_t *doc = NULL;
  if (strcmp (path, "-") == 0)
    {
      _cleanup_free_ char *text = NULL;
      size_t len = 0;
      if (olrun_read_fd (STDIN_FILENO, &text, &len, err) < 0)
        return olrun_error_wrap (err, "read the process from stdin");
      if (olrun_json_parse (text, len, "<stdin>", &doc, err) < 0)
        return -1;
    }
  else if (olrun_json_parse_file (AT_FDCWD, path, &doc, err) < 0)
    return -1;
  struct olrun_jdec d = { .doc = doc, .err = err };
  return olrun_spec_parse_process (&d, olrun_json_root (doc), NULL, ret);
}

/* A process for a config without one: root in /, nothing else. */
static struct olrun_process *
empty_process (void)
{
  struct olrun_process *p = xzalloc (sizeof *p);
  p->umask = -1;
  p->cwd = xstrdup ("/");
  p->env = xzalloc (sizeof *p->env);
  return p;
}

/* -e KEY=VALUE replaces KEY if the environment has it: a duplicate would
 * leave the old value to whoever reads the first match (glibc's getenv). */
static int
apply_env (struct olrun_process *p, char *const *env, olrun_error_t *err)
{
  for (; env && *env; env++)
    {
      const char *eq = strchr (*env, '=');
      if (eq == NULL || eq == *env)
        return olrun_invalid (err, "--env: expected KEY=VALUE, got `%s`", *env);
      size_t klen = (size_t) (eq - *env) + 1;
      size_t n = strv_length (p->env), i;
      for (i = 0; i < n; i++)
        if (strncmp (p->env[i], *env, klen) == 0)
          break;
      if (i == n)
        {
          p->env = xreallocarray (p->env, n + 2, sizeof *p->env);
          p->env[n + 1] = NULL;
        }
      else
        free (p->env[i]);
      p->env[i] = xstrdup (*env);
    }
  return 0;
}

/* -c NAME: runc's semantics.  The name goes into the bounding, effective
 * and permitted sets, and into the ambient set when the process has
 * inheritable capabilities (ambient ones need them).  The names are
 * checked by the config's own parser, so -c accepts what config.json
 * accepts ("CAP_NET_ADMIN"; "net_admin" is normalised to it). */
static int
apply_caps (struct olrun_process *p, char *const *caps, olrun_error_t *err)
{
  if (caps == NULL || caps[0] == NULL)
    return 0;
  struct olrun_buf b = { 0 };
  olrun_buf_puts (&b, "{\"bounding\":[");
  for (size_t i = 0; caps[i]; i++)
    {
      _cleanup_free_ char *name = strncasecmp (caps[i], "CAP_", 4) == 0 ? xstrdup (caps[i])
                                                                        : xasprintf ("CAP_%s", caps[i]);
      for (char *c = name; *c; c++)
        *c = (char) (*c >= 'a' && *c <= 'z' ? *c - 'a' + 'A' : *c);
      olrun_buf_puts (&b, i ? "," : "");
      olrun_buf_json_string (&b, name);
    }
  olrun_buf_puts (&b, "]}");
  _cleanup_json_doc_ olrun_json_doc_t *doc = NULL;
  struct olrun_capsets add;
  int rc = olrun_json_parse (b.data, b.len, "--cap", &doc, err);
  olrun_buf_free (&b);
  struct olrun_jdec d = { .doc = doc, .err = err };
  if (rc < 0 || olrun_spec_parse_capabilities (&d, olrun_json_root (doc), NULL, &add) < 0)
    return -1;
  if (!p->has_capabilities)
    {
      /* Without process.capabilities root holds every capability anyway;
       * anyone else gets exactly these, kept across execve as ambient. */
      if (p->uid == 0)
        return 0;
      p->has_capabilities = true;
      p->caps.bounding = olrun_caps_last_cap () >= 63 ? ~UINT64_C (0)
                                                      : (UINT64_C (1) << (olrun_caps_last_cap () + 1)) - 1;
      p->caps.inheritable |= add.bounding;
    }
  p->caps.bounding |= add.bounding;
  p->caps.effective |= add.bounding;
  p->caps.permitted |= add.bounding;
  if (p->caps.inheritable)
    {
      p->caps.inheritable |= add.bounding;
      p->caps.ambient |= add.bounding;
    }
  return 0;
}

/* Read /etc/passwd or /etc/group of the container.  RESOLVE_IN_ROOT keeps
 * every symlink and `..` inside the container's root, so a link planted
 * there (etc/passwd -> /../../etc/shadow) cannot make us read the host. */
static int
read_container_db (int root_fd, const char *path, char **ret, olrun_error_t *err)
{
  struct open_how how = {
    .flags = O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC,
    .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
  };
  _cleanup_close_ int fd = olrun_openat2 (root_fd, path, &how);
  if (fd < 0)
    return olrun_fail (err, errno, "open the container's %s", path);
  struct stat st;
  if (fstat (fd, &st) < 0)
    return olrun_fail (err, errno, "stat the container's %s", path);
  if (!S_ISREG (st.st_mode) || st.st_size > MAX_DB_SIZE)
    return olrun_fail (err, 0, "the container's %s is not a regular file of at most %u bytes", path, MAX_DB_SIZE);
  return olrun_read_fd (fd, ret, NULL, err);
}

/* A number is a number: digits only, and below 2^32-1 (which the kernel
 * reads as "unchanged").  A numeric string is never looked up as a name,
 * so an image cannot map "1000" to root (moby #21436), and an
 * out-of-range one is an error rather than a name or a wrap-around
 * (CVE-2026-30892 class: `-u 1` must run as uid 1). */
static int
parse_id (const char *s, bool *ret_numeric, uint32_t *ret)
{
  *ret_numeric = s[0] != '\0' && strspn (s, "0123456789") == strlen (s);
  if (!*ret_numeric)
    return 0;
  int64_t v;
  if (olrun_parse_int64 (s, &v) < 0 || v < 0 || v >= UINT32_MAX)
    return -1;
  *ret = (uint32_t) v;
  return 0;
}

/* Field `idx` (0-based, ':'-separated) of a database line, copied. */
static char *
db_field (const char *line, int idx)
{
  for (int i = 0; i < idx; i++)
    {
      line = strchr (line, ':');
      if (line == NULL)
        return NULL;
      line++;
    }
  return xstrndup (line, strcspn (line, ":"));
}

/* Find the line whose first field is `name`; its uid (field 2) and gid
 * (field 3 in passwd, unused in group) must be numbers. */
static int
db_lookup (const char *db, const char *name, int id_field, uint32_t *ret_id, uint32_t *ret_gid)
{
  size_t nlen = strlen (name);
  for (const char *line = db; line && *line; line = strchr (line, '\n') ? strchr (line, '\n') + 1 : NULL)
    {
      if (strncmp (line, name, nlen) != 0 || line[nlen] != ':')
        continue;
      _cleanup_free_ char *id = db_field (line, id_field);
      _cleanup_free_ char *gid = ret_gid ? db_field (line, id_field + 1) : NULL;
      bool numeric = false;
      if (id == NULL || parse_id (id, &numeric, ret_id) < 0 || !numeric)
        return -1;
      if (ret_gid && (gid == NULL || parse_id (gid, &numeric, ret_gid) < 0 || !numeric))
        return -1;
      return 1;
    }
  return 0;
}

/* The gids of the groups that list `user` as a member (initgroups). */
static void
member_gids (const char *group_db, const char *user, struct olrun_process *p)
{
  free (p->additional_gids);
  p->additional_gids = NULL;
  p->n_additional_gids = 0;
  size_t ulen = strlen (user);
  for (const char *line = group_db; line && *line; line = strchr (line, '\n') ? strchr (line, '\n') + 1 : NULL)
    {
      _cleanup_free_ char *members = db_field (line, 3);
      _cleanup_free_ char *gid = db_field (line, 2);
      bool numeric = false;
      uint32_t g;
      if (members == NULL || gid == NULL || parse_id (gid, &numeric, &g) < 0 || !numeric)
        continue;
      members[strcspn (members, "\n")] = '\0';
      for (const char *m = members; *m; m += strcspn (m, ","), m += *m == ',')
        if (strncmp (m, user, ulen) == 0 && (m[ulen] == ',' || m[ulen] == '\0'))
          {
            p->additional_gids = xreallocarray (p->additional_gids, p->n_additional_gids + 1, sizeof (uint32_t));
            p->additional_gids[p->n_additional_gids++] = g;
            break;
          }
    }
}

static int
lookup_name (struct olrun_exec *e, const char *file, const char *name, bool want_gid, uint32_t *ret_id,
             uint32_t *ret_gid, olrun_error_t *err)
{
  _cleanup_free_ char *db = NULL;
  if (read_container_db (e->root_fd, file, &db, err) < 0)
    return olrun_error_wrap (err, "--user: look up `%s`", name);
  int r = db_lookup (db, name, 2, ret_id, want_gid ? ret_gid : NULL);
  if (r < 0)
    return olrun_invalid (err, "--user: the entry of `%s` in the container's %s has no numeric id", name, file);
  if (r == 0)
    return olrun_invalid (err, "--user: `%s` is not in the container's %s", name, file);
  if (want_gid && !e->opts->has_additional_gids)
    {
      _cleanup_free_ char *groups = NULL;
      olrun_error_t tmp = NULL;
      /* A container without /etc/group has no supplementary groups. */
      if (read_container_db (e->root_fd, "/etc/group", &groups, &tmp) < 0)
        olrun_error_release (&tmp);
      member_gids (groups, name, e->process);
    }
  return 0;
}

/* -u UID[:GID] or NAME[:GROUP].  As runc: a numeric user changes the uid
 * only; a name also takes its primary group and its memberships. */
static int
apply_user (struct olrun_exec *e, const char *spec, olrun_error_t *err)
{
  struct olrun_process *p = e->process;
  _cleanup_free_ char *user = xstrdup (spec);
  char *group = strchr (user, ':');
  if (group)
    *group++ = '\0';
  bool numeric;
  uint32_t uid = 0, gid = p->gid;
  if (user[0] == '\0' || (group && group[0] == '\0'))
    return olrun_invalid (err, "--user: expected UID[:GID] or NAME[:GROUP], got `%s`", spec);
  if (parse_id (user, &numeric, &uid) < 0)
    return olrun_invalid (err, "--user: uid `%s` is out of range", user);
  if (!numeric && lookup_name (e, "/etc/passwd", user, true, &uid, &gid, err) < 0)
    return -1;
  if (group)
    {
      if (parse_id (group, &numeric, &gid) < 0)
        return olrun_invalid (err, "--user: gid `%s` is out of range", group);
      if (!numeric && lookup_name (e, "/etc/group", group, false, &gid, NULL, err) < 0)
        return -1;
    }
  p->uid = uid;
  p->gid = gid;
  return 0;
}

static void
replace_string (char **field, const char *value)
{
  if (value == NULL)
    return;
  free (*field);
  *field = xstrdup (value);
}

static int
apply_options (struct olrun_exec *e, olrun_error_t *err)
{
  const struct olrun_exec_opts *o = e->opts;
  struct olrun_process *p = e->process;
  if (o->args && o->args[0])
    {
      strv_free (p->args);
      p->args = strv_copy (o->args);
    }
  if (p->args == NULL || p->args[0] == NULL)
    return olrun_invalid (err, "exec: no command given");
  if (o->cwd && o->cwd[0] != '/')
    return olrun_invalid (err, "--cwd must be an absolute path, got `%s`", o->cwd);
  replace_string (&p->cwd, o->cwd);
  replace_string (&p->apparmor_profile, o->apparmor);
  replace_string (&p->selinux_label, o->process_label);
  if (o->no_new_privs)
    p->no_new_privileges = true;
  /* The container's process.terminal is its init's: an exec'd process has
   * a pty when asked for one, with -t or in its -p process. */
  p->terminal = o->tty || (o->process_file && p->terminal);
  if (o->user && apply_user (e, o->user, err) < 0)
    return -1;
  if (o->has_additional_gids)
    {
      free (p->additional_gids);
      p->additional_gids = xmalloc ((o->n_additional_gids + 1) * sizeof (uint32_t));
      memcpy (p->additional_gids, o->additional_gids, o->n_additional_gids * sizeof (uint32_t));
      p->n_additional_gids = o->n_additional_gids;
    }
  return apply_env (p, o->env, err) < 0 || apply_caps (p, o->caps, err) < 0 ? -1 : 0;
}

int
olrun_exec_build_process (struct olrun_exec *e, olrun_error_t *err)
{
  const struct olrun_exec_opts *o = e->opts;
  if (o->process_file)
    {
      if (load_process_file (o->process_file, &e->process, err) < 0)
        return olrun_error_wrap (err, "--process");
    }
  else
    {
      /* Take the saved config's process over rather than copy it. */
      e->process = e->spec->process ? e->spec->process : empty_process ();
      e->spec->process = NULL;
    }
  if (apply_options (e, err) < 0)
    return -1;
  struct olrun_process *p = e->process;
  if (p->terminal && o->detach && o->console_socket == NULL)
    return olrun_invalid (err, "exec: a detached process with a terminal needs --console-socket");
  if (!p->terminal && o->console_socket)
    return olrun_invalid (err, "exec: --console-socket needs a terminal (--tty)");
  return olrun_process_check_lsm (p, err);
}
