/* The OCI runtime's library interface: what cli/ calls.  Every function
 * follows the error contract of olrun/error.h and never prints. */
#ifndef OLRUN_RUNTIME_H
#define OLRUN_RUNTIME_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "olrun/cgroup.h"
#include "olrun/error.h"

/* The newest runtime-spec version this build implements (any 1.x config
 * is accepted): `features`' ociVersionMax and --version's "spec:". */
#define OLRUN_OCI_VERSION "1.3.0"

/* Global options, shared by every command. */
struct olrun_context
{
  const char *root;                       /* state directory (--root) */
  enum olrun_cgroup_manager_kind cgroup_manager;
  int rootless;                           /* -1 auto, 0 no, 1 yes */
  const char *notify_socket;              /* the caller's NOTIFY_SOCKET, or NULL */
  /* Passed on to an external backend (runtime/backend.c). */
  const char *log_path;                   /* --log */
  bool log_json;                          /* --log-format json */
  bool debug;                             /* --debug */
  const char *backend;                    /* --backend, or NULL ($OLRUN_BACKEND, then embedded) */
};

struct olrun_create_opts
{
  const char *id;
  const char *bundle;          /* default: the current directory */
  const char *config;          /* default: <bundle>/config.json */
  const char *pid_file;
  const char *console_socket;
  int preserve_fds;            /* includes listen_fds */
  int listen_fds;              /* LISTEN_FDS from the caller: passed on with LISTEN_PID=1 */
  bool no_pivot;
  bool no_new_keyring;
  /* run only: */
  bool detach;
  bool keep;
};

enum olrun_status
{
  OLRUN_STATUS_CREATING,
  OLRUN_STATUS_CREATED,
  OLRUN_STATUS_RUNNING,
  OLRUN_STATUS_PAUSED,
  OLRUN_STATUS_STOPPED,
};
const char *olrun_status_name (enum olrun_status s);

/* A container as recorded under --root. */
struct olrun_state
{
  char *id;
  char *bundle;
  char *created;            /* RFC 3339 */
  char *rootfs;
  pid_t pid;                /* 0 while creating */
  uint64_t start_time;      /* /proc/PID/stat field 22: guards against pid reuse */
  char *recorded_status;    /* "creating", "created" or "running" */
  char *cgroup_manager;
  char *cgroup_path;
  char *annotations;        /* JSON object text, or NULL */
  bool own_pidns;           /* killing pid 1 kills the container */
  uid_t owner;
};
void olrun_state_free (struct olrun_state *s);
void olrun_state_freep (struct olrun_state **s);
#define _cleanup_state_ __attribute__ ((cleanup (olrun_state_freep)))

/* Lifecycle. */
int olrun_container_create (const struct olrun_context *ctx, const struct olrun_create_opts *o, olrun_error_t *err);
int olrun_container_start (const struct olrun_context *ctx, const char *id, olrun_error_t *err);
/* create + start; in the foreground, waits and sets *ret_status to the
 * exit code (128+signal for a signal), forwarding signals meanwhile. */
int olrun_container_run (const struct olrun_context *ctx, const struct olrun_create_opts *o, int *ret_status,
                         olrun_error_t *err);
int olrun_container_kill (const struct olrun_context *ctx, const char *id, int sig, bool all, olrun_error_t *err);
int olrun_container_delete (const struct olrun_context *ctx, const char *id, bool force, olrun_error_t *err);

/* exec: start one more process in a running (or created) container. */
struct olrun_exec_opts
{
  const char *id;
  const char *process_file;     /* -p: a runtime-spec `process` object, "-" for stdin */
  char *const *args;            /* the command; replaces process.args when not empty */
  bool tty;                     /* -t: give the process a pty */
  bool detach;                  /* -d: return once the process runs */
  const char *console_socket;   /* send the pty master there */
  const char *pid_file;
  const char *cwd;              /* --cwd, absolute, resolved in the container */
  char *const *env;             /* -e KEY=VALUE: set (replacing KEY if present) */
  const char *user;             /* -u UID[:GID] or NAME[:GROUP], names from the container's /etc */
  const uint32_t *additional_gids;
  size_t n_additional_gids;
  bool has_additional_gids;     /* --additional-gids given (replaces the list) */
  char *const *caps;            /* -c: added to the bounding, effective and permitted sets */
  bool no_new_privs;
  int preserve_fds;
  const char *apparmor;         /* --apparmor: replaces process.apparmorProfile */
  const char *process_label;    /* --process-label: replaces process.selinuxLabel */
  bool ignore_paused;
};
/* Without -p, the process is the container's own (config.json as saved at
 * create) with the options applied; with -p, the file's.  It joins every
 * namespace and the cgroup of the container's init and gets its seccomp
 * filter.  In the foreground, *ret_status is the process's exit code
 * (128+signal); detached, 0 once it runs.  A process that cannot start
 * fails with OLRUN_E_EXEC_NOENT or OLRUN_E_EXEC_FAILED. */
int olrun_container_exec (const struct olrun_context *ctx, const struct olrun_exec_opts *o, int *ret_status,
                          olrun_error_t *err);

/* Inspection. */
int olrun_container_load (const struct olrun_context *ctx, const char *id, struct olrun_state **ret,
                          olrun_error_t *err);
int olrun_container_status (const struct olrun_state *s, enum olrun_status *ret, olrun_error_t *err);
/* The runtime-spec state JSON (plus runc's "created"), pretty-printed. */
int olrun_container_state_json (const struct olrun_context *ctx, const char *id, char **ret, olrun_error_t *err);
/* The IDs under --root, sorted. */
int olrun_container_list (const struct olrun_context *ctx, char ***ret_ids, olrun_error_t *err);

/* The runtime-spec features document (pretty JSON, heap): only what this
 * build and host can really do. */
char *olrun_features_json (void);

/* The cgroup verbs (runtime/container_cgroup.c).  pause/resume freeze and
 * thaw through cgroup.freeze; update writes new limits to the live cgroup
 * and saves them in the state dir (resources.json). */
int olrun_container_pause (const struct olrun_context *ctx, const char *id, olrun_error_t *err);
int olrun_container_resume (const struct olrun_context *ctx, const char *id, olrun_error_t *err);
int olrun_container_update (const struct olrun_context *ctx, const char *id, const struct olrun_resources *r,
                            olrun_error_t *err);
int olrun_container_stats (const struct olrun_context *ctx, const char *id, struct olrun_cgroup_stats *ret,
                           olrun_error_t *err);
int olrun_container_pids (const struct olrun_context *ctx, const char *id, pid_t **ret, size_t *ret_len,
                          olrun_error_t *err);
/* A linux.resources object from a file, or stdin for "-" (update --resources). */
int olrun_resources_load (const char *path, struct olrun_resources **ret, olrun_error_t *err);
/* The same from text; `name` prefixes errors. */
int olrun_resources_parse_text (const char *text, const char *name, struct olrun_resources **ret, olrun_error_t *err);
/* The runtime-spec JSON of r (heap string). */
char *olrun_resources_to_json (const struct olrun_resources *r);

/* ---- backends (backend.c) ----
 * The embedded runtime (this library), or an external runc-compatible
 * executable (crun, runc, a path) called with runc's command line. */
struct olrun_backend
{
  char *name;               /* as given: "embedded", "crun", "runc", or a path */
  char *path;               /* the executable; NULL for the embedded runtime */
  char *root;               /* an external backend's --root: <olrun root>/.backend-<name> */
  bool crun;                /* crun's flavour of the CLI (--cgroup-manager) */
};
/* spec NULL or "": $OLRUN_BACKEND, else the embedded runtime.  A backend
 * that is not installed is an UNSUPPORTED error naming it. */
int olrun_backend_resolve (const struct olrun_context *ctx, const char *spec, struct olrun_backend **ret,
                           olrun_error_t *err);
void olrun_backend_free (struct olrun_backend *b);
void olrun_backend_freep (struct olrun_backend **b);
#define _cleanup_backend_ __attribute__ ((cleanup (olrun_backend_freep)))
static inline bool
olrun_backend_embedded (const struct olrun_backend *b)
{
  return b->path == NULL;
}
/* The argv for an external backend: its path, olrun's global options
 * translated, then args (the verb and its arguments). */
int olrun_backend_argv (const struct olrun_backend *b, const struct olrun_context *ctx, char *const *args,
                        char ***ret, olrun_error_t *err);
/* execv the backend in place of this process; returns only on failure. */
int olrun_backend_exec (const struct olrun_backend *b, const struct olrun_context *ctx, char *const *args,
                        olrun_error_t *err);
/* fork + execv; stdio (3 fds, -1 to inherit) may be NULL.  The child gets
 * an empty signal mask. */
int olrun_backend_spawn (const struct olrun_backend *b, const struct olrun_context *ctx, char *const *args,
                         const int *stdio, pid_t *ret_pid, olrun_error_t *err);
/* Reap a spawned backend.  With ret_status its exit code (128+signal) is
 * returned; without, a non-zero exit is an error naming verb. */
int olrun_backend_wait (const struct olrun_backend *b, pid_t pid, const char *verb, int *ret_status,
                        olrun_error_t *err);
/* spawn + wait, failing on a non-zero exit. */
int olrun_backend_call (const struct olrun_backend *b, const struct olrun_context *ctx, char *const *args,
                        const int *stdio, olrun_error_t *err);

/* Block every signal but the synchronous ones (SEGV, BUS, ILL, FPE, PIPE)
 * and return a signalfd for them, to forward them to a container (run.c,
 * and the launcher's external backends); *old gets the previous mask. */
int olrun_signals_forward_fd (sigset_t *old, olrun_error_t *err);

/* The caller's terminal in raw mode while a container's pty is relayed
 * (run.c, and the launcher's attach); false when fd is not a terminal. */
struct termios;
bool olrun_tty_raw (int fd, struct termios *saved);
void olrun_tty_restore (int fd, const struct termios *saved);

/* Signals by name or number: "KILL", "SIGKILL", "9".  -1 if unknown. */
int olrun_signal_parse (const char *s);

#endif
