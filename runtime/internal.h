/* Shared between the files of runtime/: not part of the library's API. */
#ifndef OLRUN_RUNTIME_INTERNAL_H
#define OLRUN_RUNTIME_INTERNAL_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <linux/prctl.h>
#include <sys/types.h>
#include <termios.h>

#include "olrun/runtime.h"
#include "olrun/spec.h"

/* ---- state store (state.c) ---- */
/* The directory (and default cgroup) name for an ID: the ID itself unless
 * it is too long for a file name. */
char *olrun_state_dirname (const char *id);
int olrun_state_dir_create (const char *root, const char *id, int *ret_dirfd, olrun_error_t *err);
int olrun_state_dir_open (const char *root, const char *id, bool lock, int *ret_dirfd, olrun_error_t *err);
int olrun_state_dir_remove (const char *root, const char *id, olrun_error_t *err);
int olrun_state_write (int dirfd, const struct olrun_state *s, olrun_error_t *err);
/* Read state.json; a given id must match the one recorded (NULL: any). */
int olrun_state_read (int dirfd, const char *id, struct olrun_state **ret, olrun_error_t *err);
/* A pidfd for the container's init if it is alive and really it (start
 * time checked); *ret_pidfd = -1 when it is gone. */
int olrun_state_pidfd (const struct olrun_state *s, int *ret_pidfd, olrun_error_t *err);
int olrun_proc_stat (pid_t pid, uint64_t *ret_start, char *ret_state);
/* --pid-file: the decimal pid, no newline, written to a temp file and
 * renamed (clients read it as soon as it exists). */
int olrun_pid_file_write (const char *path, pid_t pid, olrun_error_t *err);

/* Kill what is left of a container, run its poststop hooks (when it was
 * started), remove its cgroup and state dir (lifecycle.c).  delete loads
 * these from the state; run has them in memory already. */
int olrun_container_teardown (const struct olrun_context *ctx, const struct olrun_state *s, struct olrun_cgroup *cg,
                              const struct olrun_spec *spec, bool started, olrun_error_t *err);
/* After SYNC_START: wait for the init's exec, or its error (lifecycle.c). */
int olrun_start_wait (int conn, const struct olrun_spec *spec, const struct olrun_state *s, olrun_error_t *err);

/* ---- sync messages (sync.c) ---- */
enum olrun_sync_type
{
  SYNC_USERNS_READY = 1, /* child: I am in my user namespace; write my id maps */
  SYNC_USERNS_DONE,      /* parent: maps written */
  SYNC_INIT_PID,         /* intermediate: value = host pid of the container's init */
  SYNC_HOOKS_READY,      /* child: mounts are prepared; run prestart/createRuntime */
  SYNC_HOOKS_DONE,       /* parent: hooks done; value = the init's host pid */
  SYNC_PTY,              /* child: fd = the pty master */
  SYNC_CREATED,          /* child: ready, waiting for start */
  SYNC_COMMIT,           /* parent: state is recorded; outlive me */
  SYNC_START,            /* starter: go */
  SYNC_SECCOMP_FD,       /* init: fd = the seccomp notify listener */
  SYNC_ERROR,
};
int olrun_sync_pair (int fds[2], olrun_error_t *err);
int olrun_sync_send (int sock, int type, int value, int fd, olrun_error_t *err);
/* Best effort: used by a child that is about to exit. */
int olrun_sync_send_error (int sock, const struct olrun_error *e);
/* Receive one message of type `expect`.  SYNC_ERROR sets *err to the
 * peer's error; EOF is an error too. */
int olrun_sync_recv (int sock, int expect, int *ret_value, int *ret_fd, olrun_error_t *err);

/* Like olrun_sync_recv, but any type is accepted and EOF (the peer
 * exec'd or exited) returns 0 with *ret_type = 0. */
int olrun_sync_recv_any (int sock, int *ret_type, int *ret_value, int *ret_fd, olrun_error_t *err);

/* ---- the olrun binary (exe_protect.c) ---- */
/* What the parent prepares before it clones: the memory layout, and when
 * it may, the binary opened through a detached read-only mount. */
struct olrun_exe_guard
{
  int fd;                   /* -1: the child opens it itself */
  int tree;                 /* the detached mount, closed after the clone */
  struct prctl_mm_map map;
};
int olrun_exe_guard_prepare (struct olrun_exe_guard *g, olrun_error_t *err);
void olrun_exe_guard_clear (struct olrun_exe_guard *g);
/* In the child: point /proc/self/exe at the olrun binary seen through a
 * detached read-only mount, so nothing the container reaches through
 * /proc can write it (CVE-2019-5736).  Call in every process that later
 * execs the container's process, before any process of the container can
 * see it. */
int olrun_process_protect_exe (const struct olrun_exe_guard *g, olrun_error_t *err);

/* ---- one container being created (create.c, init.c) ----
 * The parent fills this in; clone3 copies it into the child, which reads
 * its half.  Fields marked [child] are only meaningful there. */
struct olrun_container
{
  const struct olrun_context *ctx;
  const struct olrun_create_opts *opts;
  struct olrun_spec *spec;
  const char *id;
  char *bundle;               /* absolute */
  char *rootfs;               /* absolute */
  int state_dirfd;
  struct olrun_cgroup *cgroup;
  int ns_fds[OLRUN_NS_COUNT]; /* namespaces joined by path, else -1 */
  bool new_userns;
  bool rootless;              /* --rootless, or auto: not root of the initial user namespace */
  bool slow_path;             /* namespaces joined by path: setns/unshare in the child */
  bool start_inline;          /* run: the start message comes over the sync socket */
  int sync_parent;            /* parent's end of the sync socket */
  int sync_child;             /* child's end */
  int start_listen;           /* listening socket start connects to (create) */
  int console_socket;         /* connected --console-socket, or -1 */
  int pty_master;             /* [parent] the pty master when the caller's terminal is used */
  pid_t parent_pid;
  pid_t init_pid;
  int init_pidfd;
  struct olrun_seccomp_program *seccomp;
  char *exe_path;             /* [child] process.args[0] resolved on PATH */
  bool started;               /* [parent] the start message was sent */
  struct olrun_exe_guard exe_guard;
  int *idmapped_trees;        /* per mounts[] entry: a prepared idmapped mount, or -1; NULL if none */
  struct olrun_state state;
};

/* Does the init stop between its mounts and pivot_root for the parent
 * (SYNC_HOOKS_READY/DONE)?  Only for what must happen there: the hooks
 * the parent runs then, linux.netDevices, and the init's own
 * createContainer and startContainer hooks, whose state names its host
 * pid (which the parent sends).  Otherwise the round trip is saved
 * (spawn.c). */
bool olrun_create_hooks_sync (const struct olrun_container *c);

/* In a process whose pid namespace for children is the container's:
 * fork the process that will live there, as olrun's child (CLONE_PARENT),
 * and tell olrun its pid (SYNC_INIT_PID) over sync_sock before the child
 * may use that socket.  Returns 0 in the child, 1 in the caller (which
 * then exits), -1 on error. */
int olrun_fork_into_pidns (int sync_sock, olrun_error_t *err);

/* The container's setup, in the child after clone3.  Never returns. */
_Noreturn void olrun_init_main (struct olrun_container *c);
/* Enter the rootfs without mounting anything (no mount namespace). */
int olrun_init_chroot (const char *rootfs, olrun_error_t *err);
/* In a new user namespace: have the parent write the maps, become root. */
int olrun_init_userns_handshake (struct olrun_container *c, olrun_error_t *err);
/* Slow path (init_ns.c): join the namespaces given by path, create the
 * rest.  Returns 1 in an intermediate process that has handed over to the
 * container's init (and must exit), 0 in the init, -1 on error. */
int olrun_init_join_namespaces (struct olrun_container *c, olrun_error_t *err);

/* ---- idmapped mounts, the parent's half (idmapped.c) ---- */
/* Build every idmapped bind mount detached, before clone3, into
 * c->idmapped_trees (the child inherits them). */
int olrun_idmapped_prepare (struct olrun_container *c, olrun_error_t *err);
/* Close the parent's copies (after the spawn, and on free). */
void olrun_idmapped_release (struct olrun_container *c);
/* Whether this caller can make idmapped mounts at all (for `features`). */
bool olrun_idmapped_available (void);

/* ---- the process stage (process.c) ---- */
/* Resolve args[0] on the PATH of env (in the current root). */
int olrun_process_resolve (const struct olrun_process *p, char **ret_path, olrun_error_t *err);
/* chdir into cwd and check it is inside the root (CVE-2024-21626). */
int olrun_process_chdir (const struct olrun_process *p, olrun_error_t *err);
/* Credentials, capabilities, rlimits, no_new_privs, seccomp, then execve.
 * Returns only on failure.  report_fd is kept open (CLOEXEC) so the
 * caller learns of the exec by EOF. */
int olrun_process_exec (const struct olrun_process *p, const char *exe, int preserve_fds, const int *keep,
                        size_t nkeep, const struct olrun_seccomp_program *seccomp, int report_fd,
                        olrun_error_t *err);

/* ---- NOTIFY_SOCKET (notify.c) ---- */
/* Give the container a notify socket of its own (mount + env). */
int olrun_notify_prepare (struct olrun_spec *spec, const char *state_dir, int state_dirfd, olrun_error_t *err);
/* Bind it; *ret_fd = -1 when the container was created without one. */
int olrun_notify_listen (int state_dirfd, int *ret_fd, olrun_error_t *err);
/* Read one message; forward READY=1 (with MAINPID) to host. */
int olrun_notify_forward (int fd, const char *host, pid_t pid, bool *ret_ready, olrun_error_t *err);
/* Forward until READY=1, failing if the container exits first (pidfd < 0:
 * it is gone already, and only what it sent before counts). */
int olrun_notify_wait_ready (int fd, const char *host, int pidfd, pid_t pid, olrun_error_t *err);

/* ---- inherited attributes (process_attrs.c) ---- */
/* process.ioPriority and process.scheduler, on the calling thread. */
int olrun_process_apply_sched (const struct olrun_process *p, olrun_error_t *err);
/* linux.personality and linux.memoryPolicy, on the calling thread. */
int olrun_process_apply_linux (const struct olrun_linux *l, olrun_error_t *err);
/* Whether the LSM is active on this host (labels are applied only then). */
bool olrun_lsm_apparmor_enabled (void);
bool olrun_lsm_selinux_enabled (void);
/* Refuse an AppArmor profile or SELinux label the host cannot apply. */
int olrun_process_check_lsm (const struct olrun_process *p, olrun_error_t *err);
/* Write the labels to take on at execve through a procfs of our own. */
int olrun_process_apply_lsm (const struct olrun_process *p, olrun_error_t *err);

/* ---- hooks (hooks.c) ---- */
/* Run every hook of `kind` with the state JSON on stdin.  Hooks run in the
 * caller's namespaces. */
int olrun_hooks_run (const struct olrun_spec *spec, enum olrun_hook_kind kind, const char *state_json,
                     olrun_error_t *err);
/* Refuse, before anything is created, a hook of the runtime's namespaces
 * whose path is not an executable regular file. */
int olrun_hooks_check (const struct olrun_spec *spec, olrun_error_t *err);
/* For poststart and poststop, whose failure the spec makes a warning:
 * run them (if any) with the state in `status`, and warn on failure. */
void olrun_hooks_run_warn (const struct olrun_spec *spec, enum olrun_hook_kind kind, const struct olrun_state *s,
                           const char *status);
/* The runtime-spec state JSON for a given status. */
char *olrun_state_json (const struct olrun_state *s, const char *status, bool pretty);

/* ---- terminal (terminal.c) ---- */
/* In the container, after pivot_root: a pty from its devpts; returns the
 * master, makes the slave stdio and the controlling terminal (the caller
 * must lead a session), and with `console` binds it on /dev/console (the
 * container's init; not an exec'd process). */
int olrun_terminal_setup (const struct olrun_process *p, bool console, int *ret_master, olrun_error_t *err);
/* Send the master to a --console-socket (one sendmsg, non-empty payload). */
int olrun_terminal_send (int sock, int master, olrun_error_t *err);
int olrun_console_socket_connect (const char *path, int *ret_fd, olrun_error_t *err);

/* ---- the foreground wait of run and exec (relay.c) ---- */
struct olrun_relay
{
  int master;               /* pty master, or -1 without a terminal */
  bool master_open;         /* false once the slave side hung up (EIO) */
  bool stdin_open;
  bool raw;                 /* stdin was put in raw mode */
  struct termios saved;
  int notify;               /* the container's notify socket until READY=1, or -1 (set by the caller) */
  const char *notify_host;  /* where READY=1 is forwarded */
};
/* olrun_signals_forward_fd (runtime.h) blocks the signals to forward
 * and gives the signalfd for olrun_relay_wait; call it before the process
 * can start, so no signal is lost. */
/* With a pty master: the caller's terminal goes raw (if stdin is one) and
 * its size is copied to the pty.  olrun_relay_end restores it.  notify and
 * notify_host are the caller's to set, before or after. */
void olrun_relay_begin (struct olrun_relay *r, int master);
void olrun_relay_end (struct olrun_relay *r);
/* Wait for our child `pid`, forwarding signals to `pidfd`, copying stdin
 * to the master and the master to stdout, and the container's READY=1 to
 * notify_host; *ret_status is the exit code (128+signal for a signal). */
int olrun_relay_wait (struct olrun_relay *r, int sfd, pid_t pid, int pidfd, int *ret_status, olrun_error_t *err);
int olrun_exit_code (int status);

#endif
