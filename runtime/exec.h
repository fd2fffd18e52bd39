/* Internal to exec.c, exec_child.c and exec_process.c. */
#ifndef OLRUN_RUNTIME_EXEC_H
#define OLRUN_RUNTIME_EXEC_H

#include "runtime/internal.h"

/* One `exec` in progress.  The parent fills it in; clone3 copies it into
 * the child, which reads the fields marked [child]. */
struct olrun_exec
{
  const struct olrun_exec_opts *opts;
  struct olrun_state *state;
  struct olrun_spec *spec;                 /* config.json as saved at create */
  struct olrun_process *process;           /* the process to start */
  struct olrun_seccomp_program *seccomp;   /* the container's filter, or NULL */
  int state_dirfd;
  int init_pidfd;
  int proc_fd;        /* /proc/<init>, checked to be the init's */
  int root_fd;        /* /proc/<init>/root: the container's root as its init sees it */
  int ns_flags;       /* CLONE_NEW* of the init's namespaces that differ from ours */
  bool intermediate;  /* the child joins the pid namespace and forks the process (rootless) */
  struct olrun_cgroup *cgroup;
  int sync_parent;
  int sync_child;     /* [child] */
  int console_socket; /* connected --console-socket, or -1 */
  int pty_master;     /* the master, kept for a foreground relay */
  pid_t pid;          /* the new process, as we see it */
  int pidfd;
  struct olrun_exe_guard exe_guard;
};

/* Build e->process from the saved config or -p, with the options on top
 * (exec_process.c).  Names given to -u are looked up in the container's
 * /etc/passwd and /etc/group, read through e->root_fd. */
int olrun_exec_build_process (struct olrun_exec *e, olrun_error_t *err);

/* The child after clone3 (exec_child.c): join, set up, become the process.
 * Never returns. */
_Noreturn void olrun_exec_child (struct olrun_exec *e);

#endif
