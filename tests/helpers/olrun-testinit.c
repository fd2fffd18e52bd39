/* A static helper run inside test containers, for what busybox cannot
 * show: `testinit keyring` prints the session keyring's description,
 * `testinit cwd` getcwd(), `testinit dumpable` PR_GET_DUMPABLE,
 * `testinit open PATH` tries to open a path for writing,
 * `testinit notify MSG` sends MSG to $NOTIFY_SOCKET (sd_notify). */
#include <errno.h>
#include <fcntl.h>
#include <linux/keyctl.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
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
  if (strcmp (argv[1], "notify") == 0 && argc > 2)
    return notify (argv[2]);
  return 2;
}
