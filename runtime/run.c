/* run: create + start, then (in the foreground) wait for the container,
 * forwarding signals and relaying the terminal (relay.c), and delete it
 * after. */
#include <signal.h>

#include "olrun/log.h"
#include "olrun/runtime.h"
#include "olrun/util.h"
#include "runtime/create.h"
#include "runtime/internal.h"

/* create released the init already, and recorded "running". */
static int
start_inline (struct olrun_container *c, olrun_error_t *err)
{
  c->started = true;
  if (olrun_start_wait (c->sync_parent, c->spec, &c->state, err) < 0)
    return -1;
  olrun_hooks_run_warn (c->spec, OLRUN_HOOK_POSTSTART, &c->state, "running");
  return 0;
}

int
olrun_container_run (const struct olrun_context *ctx, const struct olrun_create_opts *o, int *ret_status,
                     olrun_error_t *err)
{
  sigset_t old;
  _cleanup_close_ int sfd = o->detach ? -1 : olrun_signals_forward_fd (&old, err);
  if (!o->detach && sfd < 0)
    return -1;
  _cleanup_container_ struct olrun_container *c = NULL;
  struct olrun_relay r = { .master = -1, .notify = -1, .notify_host = ctx->notify_socket };
  int rc = olrun_create_internal (ctx, o, true, &c, err);
  if (rc == 0 && ctx->notify_socket)
    rc = olrun_notify_listen (c->state_dirfd, &r.notify, err);
  if (rc == 0)
    rc = start_inline (c, err);
  if (rc == 0 && o->detach && r.notify >= 0)
    rc = olrun_notify_wait_ready (r.notify, ctx->notify_socket, c->init_pidfd, c->init_pid, err);
  if (rc == 0 && !o->detach)
    {
      olrun_relay_begin (&r, c->pty_master);
      rc = olrun_relay_wait (&r, sfd, c->init_pid, c->init_pidfd, ret_status, err);
      olrun_relay_end (&r);
    }
  safe_close (r.notify);
  if (!o->detach)
    sigprocmask (SIG_SETMASK, &old, NULL);
  /* The container is deleted after a foreground run, and after a start
   * that failed (its process is gone), unless --keep. */
  if (c && (!o->detach || rc < 0) && !o->keep)
    {
      /* Everything is in memory: no need to read it back as delete does. */
      olrun_error_t tmp = NULL;
      if (olrun_container_teardown (ctx, &c->state, c->cgroup, c->spec, c->started, &tmp) < 0)
        {
          if (rc < 0)
            olrun_error_release (&tmp); /* the first error is the one reported */
          else
            {
              *err = tmp;
              return olrun_error_wrap (err, "remove the container after it exited");
            }
        }
    }
  if (rc == 0 && o->detach)
    *ret_status = 0;
  return rc;
}
