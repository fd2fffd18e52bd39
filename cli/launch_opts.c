/* The launcher's options: `olrun run [options] REF [CMD [ARG...]]`. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/launch_opts.h"
#include "olrun/util.h"

const char olrun_launch_usage[]
    = "Usage: olrun run [OPTIONS] REF|BUNDLE-DIR [CMD [ARG...]]\n"
      "Run an image: pull it through the cache, make a temporary bundle on its read-only rootfs,\n"
      "run it, and remove it all afterwards.  REF needs a transport prefix or a `/`:\n"
      "oci:DIR[:TAG|@DIGEST], oci-archive:FILE[:TAG], docker-archive:FILE, docker://HOST/REPO[:TAG|@DIGEST],\n"
      "or a bundle directory (one with config.json).  (A bare container ID runs a bundle as runc does.)\n"
      "Options:\n"
      "  -B, --bind SRC[:DST[:ro|rw]]  bind a host path (repeatable; default DST=SRC, rw)\n"
      "  --writable-tmpfs     an overlay with a tmpfs upper over the read-only rootfs\n"
      "  --hostname NAME      the container's hostname (default olrun)\n"
      "  --net none|host      a network namespace of its own, or the host's (default)\n"
      "  -e, --env K=V|K      set (or pass on) an environment variable (repeatable)\n"
      "  --env-file FILE      K=V lines\n"
      "  --entrypoint CMD     replace the image's Entrypoint (and drop its Cmd)\n"
      "  --cwd DIR            the working directory (default: the image's WorkingDir)\n"
      "  -t, --tty            a pty (default: when stdin and stdout are terminals); -T, --no-tty: none\n"
      "  -i, --interactive    detached: keep a stdin that `attach` writes to\n"
      "  -d, --detach         run in the background under olrun's monitor and print the ID\n"
      "  --rm                 remove everything afterwards (always done)\n"
      "  --keep-bundle DIR    make the bundle at DIR and keep it (olrun bundle delete DIR removes it)\n"
      "  --backend NAME|PATH  embedded (default, or $OLRUN_BACKEND), crun, runc, or a runtime's path\n"
      "  --seccomp PROFILE    builtin, unconfined, or a profile file (default: podman's, else builtin)\n"
      "  --userns             a user namespace even as root\n"
      "  --fakeroot           in the user namespace, run as uid 0 instead of as yourself\n" IMAGE_OPTIONS_HELP;

enum
{
  OPT_BIND = 'B',
  OPT_ENV = 'e',
  OPT_TTY = 't',
  OPT_NO_TTY = 'T',
  OPT_INTERACTIVE = 'i',
  OPT_DETACH = 'd',
  OPT_WRITABLE_TMPFS = 0x2000,
  OPT_HOSTNAME,
  OPT_NET,
  OPT_ENV_FILE,
  OPT_ENTRYPOINT,
  OPT_CWD,
  OPT_RM,
  OPT_KEEP_BUNDLE,
  OPT_BACKEND,
  OPT_SECCOMP,
  OPT_USERNS,
  OPT_FAKEROOT,
};

const struct option olrun_launch_longopts[] = {
  IMAGE_LONG_OPTIONS,
  { "bind", required_argument, NULL, OPT_BIND },
  { "writable-tmpfs", no_argument, NULL, OPT_WRITABLE_TMPFS },
  { "hostname", required_argument, NULL, OPT_HOSTNAME },
  { "net", required_argument, NULL, OPT_NET },
  { "env", required_argument, NULL, OPT_ENV },
  { "env-file", required_argument, NULL, OPT_ENV_FILE },
  { "entrypoint", required_argument, NULL, OPT_ENTRYPOINT },
  { "cwd", required_argument, NULL, OPT_CWD },
  { "tty", no_argument, NULL, OPT_TTY },
  { "no-tty", no_argument, NULL, OPT_NO_TTY },
  { "interactive", no_argument, NULL, OPT_INTERACTIVE },
  { "detach", no_argument, NULL, OPT_DETACH },
  { "rm", no_argument, NULL, OPT_RM },
  { "keep-bundle", required_argument, NULL, OPT_KEEP_BUNDLE },
  { "backend", required_argument, NULL, OPT_BACKEND },
  { "seccomp", required_argument, NULL, OPT_SECCOMP },
  { "userns", no_argument, NULL, OPT_USERNS },
  { "fakeroot", no_argument, NULL, OPT_FAKEROOT },
  { "help", no_argument, NULL, 'h' },
  { 0 },
};
const char olrun_launch_shortopts[] = "+:qhB:e:tTid";

static void
strv_push (char ***v, size_t *n, char *s)
{
  *v = xreallocarray (*v, *n + 2, sizeof **v);
  (*v)[(*n)++] = s;
  (*v)[*n] = NULL;
}

/* K=V as given; a bare K takes the caller's value (docker's -e K), and is
 * left out when the caller has none. */
static void
add_env (struct launch_cli *c, const char *kv)
{
  if (strchr (kv, '='))
    strv_push (&c->env, &c->n_env, xstrdup (kv));
  else if (getenv (kv))
    strv_push (&c->env, &c->n_env, xasprintf ("%s=%s", kv, getenv (kv)));
}

static int
add_env_file (struct launch_cli *c, const char *path)
{
  _cleanup_fclose_ FILE *f = fopen (path, "re");
  if (f == NULL)
    return olrun_cli_failf ("--env-file `%s`: %s", path, strerror (errno)), -1;
  _cleanup_free_ char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  while ((n = getline (&line, &cap, f)) >= 0)
    {
      while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
      const char *s = line + strspn (line, " \t");
      if (*s && *s != '#')
        add_env (c, s);
    }
  return 0;
}

static int
add_bind (struct launch_cli *c, const char *spec)
{
  struct olrun_bind b;
  olrun_error_t err = NULL;
  if (olrun_bind_parse (spec, &b, &err) < 0)
    return olrun_cli_fail (&err), -1;
  c->binds = xreallocarray (c->binds, c->n_binds + 1, sizeof *c->binds);
  c->binds[c->n_binds++] = b;
  return 0;
}

static int
option (struct launch_cli *c, int opt, const char *arg)
{
  struct olrun_launch_opts *o = &c->o;
  switch (opt)
    {
    case OPT_BIND: return add_bind (c, arg);
    case OPT_ENV: add_env (c, arg); return 0;
    case OPT_ENV_FILE: return add_env_file (c, arg);
    case OPT_WRITABLE_TMPFS: o->writable_tmpfs = true; return 0;
    case OPT_HOSTNAME: o->config.hostname = arg; return 0;
    case OPT_NET:
      if (strcmp (arg, "none") != 0 && strcmp (arg, "host") != 0)
        return olrun_cli_failf ("--net: expected none or host, got `%s`", arg), -1;
      o->config.net_none = strcmp (arg, "none") == 0;
      return 0;
    case OPT_ENTRYPOINT: o->config.entrypoint = arg; return 0;
    case OPT_CWD: o->config.cwd = arg; return 0;
    case OPT_TTY: c->tty = 1; return 0;
    case OPT_NO_TTY: c->tty = 0; return 0;
    case OPT_INTERACTIVE: o->interactive = true; return 0;
    case OPT_DETACH: o->detach = true; return 0;
    case OPT_RM: return 0; /* what every launch does */
    case OPT_KEEP_BUNDLE: o->keep_bundle = arg; return 0;
    case OPT_BACKEND: o->backend = arg; return 0;
    case OPT_SECCOMP: o->config.seccomp = arg; return 0;
    case OPT_USERNS: o->userns = true; return 0;
    case OPT_FAKEROOT: o->fakeroot = true; return 0;
    }
  int r = image_cli_option (&c->image, opt, arg);
  if (r == 0)
    olrun_cli_failf ("run: unknown option");
  return r > 0 ? 0 : -1;
}

int
launch_cli_parse (struct launch_cli *c, int argc, char **argv)
{
  c->tty = -1;
  int opt;
  optind = 0;
  opterr = 0;
  while ((opt = getopt_long (argc, argv, olrun_launch_shortopts, olrun_launch_longopts, NULL)) != -1)
    {
      if (opt == 'h')
        {
          fputs (olrun_launch_usage, stdout);
          exit (0);
        }
      if (opt == '?' || opt == ':')
        {
          olrun_cli_failf ("run: %s `%s`", opt == ':' ? "missing argument for" : "unknown option", argv[optind - 1]);
          fputs (olrun_launch_usage, stderr);
          return -1;
        }
      if (option (c, opt, optarg) < 0)
        return -1;
    }
  if (optind >= argc)
    {
      fputs (olrun_launch_usage, stderr);
      return -1;
    }
  image_cli_finish (&c->image);
  struct olrun_launch_opts *o = &c->o;
  o->image = c->image.opts;
  o->image.ref = argv[optind];
  o->config.args = optind + 1 < argc ? argv + optind + 1 : NULL;
  o->config.env = c->env;
  o->config.binds = c->binds;
  o->config.n_binds = c->n_binds;
  /* A pty when we have a terminal to relay it to; detached only with -t. */
  o->config.terminal = c->tty >= 0 ? c->tty == 1 : !o->detach && isatty (STDIN_FILENO) && isatty (STDOUT_FILENO);
  return 0;
}

void
launch_cli_clear (struct launch_cli *c)
{
  strv_free (c->env);
  for (size_t i = 0; i < c->n_binds; i++)
    olrun_bind_clear (&c->binds[i]);
  free (c->binds);
}
