/* Allocation, string vectors and the growable buffer. */
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "olrun/util.h"

static void *
oom_check (void *p)
{
  if (p == NULL)
    abort ();
  return p;
}

void *
xmalloc (size_t n)
{
  return oom_check (malloc (n ? n : 1));
}
void *
xzalloc (size_t n)
{
  return oom_check (calloc (1, n ? n : 1));
}
void *
xrealloc (void *p, size_t n)
{
  return oom_check (realloc (p, n ? n : 1));
}
void *
xreallocarray (void *p, size_t n, size_t size)
{
  return oom_check (reallocarray (p, n ? n : 1, size ? size : 1));
}
char *
xstrdup (const char *s)
{
  return s ? oom_check (strdup (s)) : NULL;
}
char *
xstrndup (const char *s, size_t n)
{
  return oom_check (strndup (s, n));
}
char *
xvasprintf (const char *fmt, va_list ap)
{
  char *s = NULL;
  if (vasprintf (&s, fmt, ap) < 0)
    abort ();
  return s;
}

char *
xasprintf (const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  char *s = xvasprintf (fmt, ap);
  va_end (ap);
  return s;
}

size_t
strv_length (char *const *v)
{
  size_t n = 0;
  while (v && v[n])
    n++;
  return n;
}
void
strv_free (char **v)
{
  for (size_t i = 0; v && v[i]; i++)
    free (v[i]);
  free (v);
}
void
strv_freep (char ***v)
{
  strv_free (*v);
  *v = NULL;
}
char **
strv_copy (char *const *v)
{
  size_t n = strv_length (v);
  char **r = xzalloc ((n + 1) * sizeof *r);
  for (size_t i = 0; i < n; i++)
    r[i] = xstrdup (v[i]);
  return r;
}

void
olrun_pid_cleanup (pid_t *pid)
{
  if (*pid <= 0)
    return;
  int saved = errno;
  kill (*pid, SIGKILL);
  while (waitpid (*pid, NULL, 0) < 0 && errno == EINTR)
    ;
  *pid = -1;
  errno = saved;
}

static void
buf_reserve (struct olrun_buf *b, size_t extra)
{
  if (b->len + extra + 1 <= b->cap)
    return;
  size_t cap = b->cap ? b->cap : 64;
  while (cap < b->len + extra + 1)
    cap *= 2;
  b->data = xrealloc (b->data, cap);
  b->cap = cap;
}

void
olrun_buf_append (struct olrun_buf *b, const void *data, size_t len)
{
  buf_reserve (b, len);
  memcpy (b->data + b->len, data, len);
  b->len += len;
  b->data[b->len] = '\0';
}

void
olrun_buf_puts (struct olrun_buf *b, const char *s)
{
  olrun_buf_append (b, s, strlen (s));
}

void
olrun_buf_printf (struct olrun_buf *b, const char *fmt, ...)
{
  va_list ap, ap2;
  va_start (ap, fmt);
  va_copy (ap2, ap);
  int n = vsnprintf (NULL, 0, fmt, ap);
  va_end (ap);
  if (n < 0)
    abort ();
  buf_reserve (b, (size_t) n);
  vsnprintf (b->data + b->len, (size_t) n + 1, fmt, ap2);
  va_end (ap2);
  b->len += (size_t) n;
}

void
olrun_buf_json_string (struct olrun_buf *b, const char *s)
{
  olrun_buf_append (b, "\"", 1);
  for (const unsigned char *p = (const unsigned char *) s; *p; p++)
    {
      switch (*p)
        {
        case '"': olrun_buf_puts (b, "\\\""); break;
        case '\\': olrun_buf_puts (b, "\\\\"); break;
        case '\n': olrun_buf_puts (b, "\\n"); break;
        case '\r': olrun_buf_puts (b, "\\r"); break;
        case '\t': olrun_buf_puts (b, "\\t"); break;
        default:
          if (*p < 0x20)
            olrun_buf_printf (b, "\\u%04x", *p);
          else
            olrun_buf_append (b, p, 1);
        }
    }
  olrun_buf_append (b, "\"", 1);
}

char *
olrun_buf_steal (struct olrun_buf *b)
{
  char *r = b->data ? b->data : xstrdup ("");
  b->data = NULL;
  b->len = b->cap = 0;
  return r;
}

void
olrun_buf_free (struct olrun_buf *b)
{
  free (b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}

int
olrun_parse_int64 (const char *s, int64_t *out)
{
  char *end = NULL;
  if (s == NULL || *s == '\0')
    {
      errno = EINVAL;
      return -1;
    }
  errno = 0;
  long long v = strtoll (s, &end, 10);
  if (errno != 0)
    return -1;
  if (*end != '\0')
    {
      errno = EINVAL;
      return -1;
    }
  *out = v;
  return 0;
}

char *
olrun_rfc3339_now (void)
{
  struct timespec ts;
  struct tm tm;
  char date[32];
  clock_gettime (CLOCK_REALTIME, &ts);
  gmtime_r (&ts.tv_sec, &tm);
  strftime (date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm);
  return xasprintf ("%s.%09ldZ", date, ts.tv_nsec);
}
