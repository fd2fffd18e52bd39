/* Shared image options and the progress display (see image_opts.h). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/image_opts.h"
#include "olrun/util.h"

int
cli_report (olrun_error_t *err)
{
  fprintf (stderr, "olrun: %s\n", (*err)->msg);
  olrun_error_release (err);
  return 1;
}

static int
parse_size (const char *s, uint64_t *ret)
{
  char *end = NULL;
  errno = 0;
  unsigned long long v = strtoull (s, &end, 10);
  if (errno || end == s || *s == '-')
    return -1;
  uint64_t mul = 1;
  if (*end == 'K' || *end == 'k')
    mul = 1ULL << 10, end++;
  else if (*end == 'M' || *end == 'm')
    mul = 1ULL << 20, end++;
  else if (*end == 'G' || *end == 'g')
    mul = 1ULL << 30, end++;
  if (*end != '\0' || v == 0 || v > UINT64_MAX / mul)
    return -1;
  *ret = v * mul;
  return 0;
}

int
image_cli_option (struct image_cli *c, int opt, const char *arg)
{
  switch (opt)
    {
    case IMAGE_OPT_BASE + 0: c->opts.cache_dir = arg; return 1;
    case IMAGE_OPT_BASE + 1: c->opts.platform = arg; return 1;
    case IMAGE_OPT_BASE + 2:
      if (strcmp (arg, "true") != 0 && strcmp (arg, "false") != 0)
        {
          fprintf (stderr, "olrun: --tls-verify: expected true or false, got `%s`\n", arg);
          return -1;
        }
      c->opts.tls_verify_off = strcmp (arg, "false") == 0;
      return 1;
    case IMAGE_OPT_BASE + 3: c->opts.cert_dir = arg; return 1;
    case IMAGE_OPT_BASE + 4: c->opts.auth_file = arg; return 1;
    case 'q': c->quiet = true; return 1;
    case IMAGE_OPT_BASE + 5:
    case IMAGE_OPT_BASE + 6:
      {
        uint64_t *dst = opt == IMAGE_OPT_BASE + 5 ? &c->opts.limits.max_size : &c->opts.limits.max_entries;
        if (parse_size (arg, dst) < 0)
          {
            fprintf (stderr, "olrun: %s: invalid value `%s`\n", opt == IMAGE_OPT_BASE + 5 ? "--max-size" : "--max-entries",
                     arg);
            return -1;
          }
        return 1;
      }
    }
  return 0;
}

static double
now (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static void
progress (void *data, const struct olrun_progress *p)
{
  struct image_cli *c = data;
  const char *verb = p->phase == OLRUN_PROGRESS_FETCH ? "fetch " : "unpack";
  char name[20];
  snprintf (name, sizeof name, "%.12s", p->digest ? p->digest + 7 : "(layer)");
  if ((int) p->phase != c->last_phase || (int) p->layer != c->last_layer)
    {
      c->last_phase = (int) p->phase;
      c->last_layer = (int) p->layer;
      c->started = now ();
    }
  double mib = (double) p->done / (1 << 20);
  if (!c->tty)
    {
      /* No terminal: one line per layer, nothing that redraws. */
      if (p->finished)
        fprintf (stderr, "%s layer %zu/%zu %s: %.1f MiB\n", verb, p->layer + 1, p->n_layers, name, mib);
      return;
    }
  double el = now () - c->started;
  double rate = el > 0 ? mib / el : 0;
  int width = 24, fill = p->total ? (int) ((double) p->done * width / (double) p->total) : 0;
  char bar[32];
  for (int i = 0; i < width; i++)
    bar[i] = i < fill ? '#' : '-';
  bar[width] = '\0';
  char eta[32] = "";
  if (p->total && rate > 0 && !p->finished)
    snprintf (eta, sizeof eta, " ETA %.0fs", ((double) (p->total - p->done) / (1 << 20)) / rate);
  fprintf (stderr, "\r%s %zu/%zu %s [%s] %.1f/%.1f MiB %.1f MiB/s%s\033[K%s", verb, p->layer + 1, p->n_layers, name,
           bar, mib, (double) p->total / (1 << 20), rate, eta, p->finished ? "\n" : "");
}

void
image_cli_finish (struct image_cli *c)
{
  c->last_phase = c->last_layer = -1;
  if (c->quiet)
    return;
  c->tty = isatty (STDERR_FILENO);
  c->opts.progress = progress;
  c->opts.progress_data = c;
}
