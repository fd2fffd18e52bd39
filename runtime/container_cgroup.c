/* pause, resume, update, events and ps: the commands that act on a
 * container's cgroup.  Each loads the container's state (under its lock
 * when it changes something), checks the lifecycle state with the words
 * clients match, and calls cgroup/. */
#include <fcntl.h>
#include <string.h>

#include "olrun/cgroup.h"
#include "olrun/runtime.h"
#include "olrun/spec.h"
#include "olrun/util.h"
#include "runtime/internal.h"

/* The container's state and cgroup; *ret_dirfd keeps the state dir open
 * (and locked when lock). */
static int
open_container (const struct olrun_context *ctx, const char *id, bool lock, int *ret_dirfd,
                struct olrun_state **ret_state, struct olrun_cgroup **ret_cg, enum olrun_status *ret_status,
                olrun_error_t *err)
{
  _cleanup_close_ int dirfd = -1;
  _cleanup_state_ struct olrun_state *s = NULL;
  if (olrun_state_dir_open (ctx->root, id, lock, &dirfd, err) < 0 || olrun_state_read (dirfd, id, &s, err) < 0
      || olrun_container_status (s, ret_status, err) < 0)
    return -1;
  int kind = s->cgroup_manager ? olrun_cgroup_manager_from_name (s->cgroup_manager) : OLRUN_CGROUP_DISABLED;
  if (olrun_cgroup_load (kind < 0 ? OLRUN_CGROUP_DISABLED : kind, s->cgroup_path, ret_cg, err) < 0)
    return -1;
  if (ret_dirfd)
    *ret_dirfd = TAKE_FD (dirfd);
  if (ret_state)
    *ret_state = TAKE_PTR (s);
  return 0;
}

static int
set_frozen (const struct olrun_context *ctx, const char *id, bool frozen, olrun_error_t *err)
{
  _cleanup_close_ int dirfd = -1;
  _cleanup_cgroup_ struct olrun_cgroup *cg = NULL;
  enum olrun_status st;
  if (open_container (ctx, id, true, &dirfd, NULL, &cg, &st, err) < 0)
    return -1;
  /* runc: pause a running (or created) container, resume a paused one. */
  if (frozen && st != OLRUN_STATUS_RUNNING && st != OLRUN_STATUS_CREATED)
    return olrun_error_set (err, st == OLRUN_STATUS_PAUSED ? OLRUN_E_BAD_STATE : OLRUN_E_NOT_RUNNING, 0,
                            st == OLRUN_STATUS_PAUSED ? "container `%s` is already paused" : "container not running",
                            id);
  if (!frozen && st != OLRUN_STATUS_PAUSED)
    return olrun_error_set (err, st == OLRUN_STATUS_STOPPED ? OLRUN_E_NOT_RUNNING : OLRUN_E_BAD_STATE, 0,
                            st == OLRUN_STATUS_STOPPED ? "container not running" : "container `%s` is not paused",
                            id);
  if (olrun_cgroup_freeze (cg, frozen, err) < 0)
    return olrun_error_wrap (err, "%s `%s`", frozen ? "pause" : "resume", id);
  return 0;
}

int
olrun_container_pause (const struct olrun_context *ctx, const char *id, olrun_error_t *err)
{
  return set_frozen (ctx, id, true, err);
}

int
olrun_container_resume (const struct olrun_context *ctx, const char *id, olrun_error_t *err)
{
  return set_frozen (ctx, id, false, err);
}

/* The resources as last applied: resources.json once updated, else the
 * config's linux.resources as it was at create. */
static int
saved_resources (int dirfd, struct olrun_resources **ret, olrun_error_t *err)
{
  _cleanup_json_doc_ olrun_json_doc_t *doc = NULL;
  const char *file = faccessat (dirfd, "resources.json", F_OK, 0) == 0 ? "resources.json" : "config.json";
  if (faccessat (dirfd, file, F_OK, 0) < 0)
    {
      *ret = olrun_resources_new ();
      return 0;
    }
  if (olrun_json_parse_file (dirfd, file, &doc, err) < 0)
    return -1;
  const olrun_json_t *node = olrun_json_root (doc);
  struct olrun_jpath lp = OLRUN_JPATH_KEY (NULL, "linux"), rp = OLRUN_JPATH_KEY (&lp, "resources");
  const struct olrun_jpath *p = NULL;
  if (strcmp (file, "config.json") == 0)
    {
      node = olrun_json_get (olrun_json_get (node, "linux"), "resources");
      p = &rp;
    }
  if (node == NULL || node->type == OLRUN_JSON_NULL)
    {
      *ret = olrun_resources_new ();
      return 0;
    }
  struct olrun_jdec d = { doc, err };
  return olrun_spec_parse_resources (&d, node, p, ret);
}

int
olrun_container_update (const struct olrun_context *ctx, const char *id, const struct olrun_resources *r,
                        olrun_error_t *err)
{
  _cleanup_close_ int dirfd = -1;
  _cleanup_cgroup_ struct olrun_cgroup *cg = NULL;
  _cleanup_resources_ struct olrun_resources *saved = NULL;
  enum olrun_status st;
  if (open_container (ctx, id, true, &dirfd, NULL, &cg, &st, err) < 0)
    return -1;
  if (st == OLRUN_STATUS_STOPPED)
    return olrun_error_set (err, OLRUN_E_NOT_RUNNING, 0, "container not running");
  if (saved_resources (dirfd, &saved, err) < 0)
    return olrun_error_wrap (err, "update `%s`: the saved resources", id);
  if (olrun_cgroup_update (cg, r, err) < 0)
    return olrun_error_wrap (err, "update `%s`", id);
  /* Saved for the next update (and for anyone reading the state dir). */
  olrun_resources_merge (saved, r);
  _cleanup_free_ char *json = olrun_resources_to_json (saved);
  return olrun_atomic_write_at (dirfd, "resources.json", json, strlen (json), 0600, err);
}

int
olrun_container_stats (const struct olrun_context *ctx, const char *id, struct olrun_cgroup_stats *ret,
                       olrun_error_t *err)
{
  _cleanup_cgroup_ struct olrun_cgroup *cg = NULL;
  enum olrun_status st;
  memset (ret, 0, sizeof *ret);
  if (open_container (ctx, id, false, NULL, NULL, &cg, &st, err) < 0)
    return -1;
  if (st == OLRUN_STATUS_STOPPED)
    return olrun_error_set (err, OLRUN_E_NOT_RUNNING, 0, "container not running");
  return olrun_cgroup_stats (cg, ret, err);
}

int
olrun_container_pids (const struct olrun_context *ctx, const char *id, pid_t **ret, size_t *ret_len,
                      olrun_error_t *err)
{
  _cleanup_cgroup_ struct olrun_cgroup *cg = NULL;
  enum olrun_status st;
  *ret = NULL;
  *ret_len = 0;
  if (open_container (ctx, id, false, NULL, NULL, &cg, &st, err) < 0)
    return -1;
  return olrun_cgroup_pids (cg, ret, ret_len, err);
}

int
olrun_resources_load (const char *path, struct olrun_resources **ret, olrun_error_t *err)
{
  _cleanup_json_doc_ olrun_json_doc_t *doc = NULL;
  if (strcmp (path, "-") == 0)
    {
      _cleanup_free_ char *text = NULL;
      size_t len = 0;
      if (olrun_read_fd (0, &text, &len, err) < 0)
        return olrun_error_wrap (err, "read resources from stdin");
      if (olrun_json_parse (text, len, "<stdin>", &doc, err) < 0)
        return -1;
    }
  else if (olrun_json_parse_file (AT_FDCWD, path, &doc, err) < 0)
    return -1;
  struct olrun_jdec d = { doc, err };
  return olrun_spec_parse_resources (&d, olrun_json_root (doc), NULL, ret);
}

int
olrun_resources_parse_text (const char *text, const char *name, struct olrun_resources **ret, olrun_error_t *err)
{
  _cleanup_json_doc_ olrun_json_doc_t *doc = NULL;
  if (olrun_json_parse (text, strlen (text), name, &doc, err) < 0)
    return -1;
  struct olrun_jdec d = { doc, err };
  return olrun_spec_parse_resources (&d, olrun_json_root (doc), NULL, ret);
}
