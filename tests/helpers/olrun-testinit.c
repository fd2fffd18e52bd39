/* A static helper run inside test containers, for what busybox cannot
 * show: `testinit keyring` prints the session keyring's description,
 * `testinit cwd` getcwd(), `testinit dumpable` PR_GET_DUMPABLE,
 * `testinit open PATH` tries to open a path for writing,
 * `testinit exe-probe PID` reports whether /proc/PID/exe is on a read-only
 * mount and whether it could be written,
 * `testinit notify MSG` sends MSG to $NOTIFY_SOCKET (sd_notify),
 * `testinit attrs` prints the inherited scheduling, I/O priority,
 * personality and NUMA memory policy. */
#include <errno.h>
#include <fcntl.h>
#include <linux/keyctl.h>
#include <stdio.h>
#include <string.h>
#include <sched.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/statvfs.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

static int
keyring (void)
{
  long id = syscall (SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0);
  if (id < 0)
    {
      printf ("error %s\n", strerror (errno));
      return 1;
    }
  char desc[512];
  long n = syscall (SYS_keyctl, KEYCTL_DESCRIBE, id, desc, sizeof desc);
  if (n < 0)
    {
      printf ("error %s\n", strerror (errno));
      return 1;
    }
  /* type;uid;gid;perm;description */
  char *name = strrchr (desc, ';');
  printf ("%s\n", name ? name + 1 : desc);
  return 0;
}

/* What a process of the container gets when it reaches a binary through
 * /proc/PID/exe (CVE-2019-5736): the mount's read-only flag, then the
 * result of reopening it for writing (never written to). */
static int
exe_probe (const char *pid)
{
  char path[64];
  snprintf (path, sizeof path, "/proc/%s/exe", pid);
  int fd = open (path, O_PATH | O_CLOEXEC);
  if (fd < 0)
    {
      printf ("open-path %s\n", strerror (errno));
      return 1;
    }
  struct statvfs sv;
  if (fstatvfs (fd, &sv) < 0)
    printf ("statvfs %s\n", strerror (errno));
  else
    printf ("%s\n", (sv.f_flag & ST_RDONLY) ? "ro" : "rw");
  /* access(W_OK) asks what a write would meet without the ETXTBSY that
   * an open for writing gets while anyone runs the binary: the attacker
   * only has to wait for that to pass. */
  snprintf (path, sizeof path, "/proc/self/fd/%d", fd);
  printf ("writable %s\n", access (path, W_OK) < 0 ? strerror (errno) : "yes");
  return 0;
}

static int
notify (const char *msg)
{
  const char *path = getenv ("NOTIFY_SOCKET");
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  if (path == NULL || strlen (path) >= sizeof addr.sun_path)
    return 2;
  strcpy (addr.sun_path, path);
  int fd = socket (AF_UNIX, SOCK_DGRAM, 0);
  if (fd < 0 || sendto (fd, msg, strlen (msg), 0, (struct sockaddr *) &addr, sizeof addr) < 0)
    {
      printf ("error %s\n", strerror (errno));
      return 1;
    }
  return 0;
}

/* One line each: "sched POLICY PRIORITY NICE", "ioprio CLASS PRIO",
 * "personality 0xN", "mempolicy MODE NODEMASK". */
static int
attrs (void)
{
  struct sched_param sp = { 0 };
  sched_getparam (0, &sp);
  errno = 0;
  int nice = getpriority (0, 0);
  printf ("sched %d %d %d\n", sched_getscheduler (0), sp.sched_priority, nice);
  long io = syscall (SYS_ioprio_get, 1 /* IOPRIO_WHO_PROCESS */, 0);
  printf ("ioprio %ld %ld\n", io >> 13, io & 0xff);
  printf ("personality 0x%x\n", personality (0xffffffff));
  int mode = -1;
  unsigned long mask[16] = { 0 };
  if (syscall (SYS_get_mempolicy, &mode, mask, 1024, NULL, 0) < 0)
    printf ("mempolicy error %s\n", strerror (errno));
  else
    printf ("mempolicy %d 0x%lx\n", mode, mask[0]);
  return 0;
}

int
main (int argc, char **argv)
{
  if (argc < 2)
    return 2;
  if (strcmp (argv[1], "keyring") == 0)
    return keyring ();
  if (strcmp (argv[1], "cwd") == 0)
    {
      char buf[4096];
      if (getcwd (buf, sizeof buf) == NULL)
        printf ("error %s\n", strerror (errno));
      else
        printf ("%s\n", buf);
      return 0;
    }
  if (strcmp (argv[1], "dumpable") == 0)
    {
      printf ("%d\n", prctl (PR_GET_DUMPABLE));
      return 0;
    }
  if (strcmp (argv[1], "open") == 0 && argc > 2)
    {
      int fd = open (argv[2], O_WRONLY);
      printf ("%s\n", fd < 0 ? strerror (errno) : "ok");
      return fd < 0;
    }
  if (strcmp (argv[1], "attrs") == 0)
    return attrs ();
  if (strcmp (argv[1], "exe-probe") == 0 && argc > 2)
    return exe_probe (argv[2]);
  if (strcmp (argv[1], "notify") == 0 && argc > 2)
    return notify (argv[2]);
  return 2;
}
