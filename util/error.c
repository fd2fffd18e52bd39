/* The error type: see include/olrun/error.h for the contract. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "olrun/error.h"
#include "olrun/util.h"

int
olrun_error_setv (olrun_error_t *err, int kind, int errnum, const char *fmt, va_list ap)
{
  /* Overwriting an error loses the first one; that is a bug in the caller. */
  if (err == NULL || *err != NULL)
    abort ();

  struct olrun_buf b = { 0 };
  char *msg = xvasprintf (fmt, ap);
  olrun_buf_puts (&b, msg);
  free (msg);
  if (errnum != 0)
    olrun_buf_printf (&b, ": %s", strerror (errnum));

  struct olrun_error *e = xzalloc (sizeof *e);
  e->errnum = errnum;
  e->kind = kind;
  e->msg = olrun_buf_steal (&b);
  *err = e;
  return -1;
}

int
olrun_error_set (olrun_error_t *err, int kind, int errnum, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  olrun_error_setv (err, kind, errnum, fmt, ap);
  va_end (ap);
  return -1;
}

int
olrun_error_wrap (olrun_error_t *err, const char *fmt, ...)
{
  if (err == NULL || *err == NULL)
    abort ();
  va_list ap;
  va_start (ap, fmt);
  char *ctx = xvasprintf (fmt, ap);
  va_end (ap);
  char *msg = xasprintf ("%s: %s", ctx, (*err)->msg);
  free (ctx);
  free ((*err)->msg);
  (*err)->msg = msg;
  return -1;
}

void
olrun_error_release (olrun_error_t *err)
{
  if (err == NULL || *err == NULL)
    return;
  free ((*err)->msg);
  free (*err);
  *err = NULL;
}

/* Wire format: three int32 (kind, errnum, length) then the text.  The
 * text already carries strerror, so the receiver does not append it twice. */
int
olrun_error_write_fd (int fd, const struct olrun_error *e)
{
  size_t len = strlen (e->msg);
  int32_t hdr[3] = { e->kind, e->errnum, (int32_t) len };
  if (olrun_write_all (fd, hdr, sizeof hdr) < 0 || olrun_write_all (fd, e->msg, len) < 0)
    return -1;
  return 0;
}

int
olrun_error_read_fd (int fd, olrun_error_t *received, olrun_error_t *err)
{
  int32_t hdr[3];
  ssize_t n = olrun_read_all (fd, hdr, sizeof hdr);
  if (n == 0)
    return 0;
  if (n != (ssize_t) sizeof hdr || hdr[2] < 0 || hdr[2] > 65536)
    return olrun_fail (err, n < 0 ? errno : 0, "read error report from child: short read");
  _cleanup_free_ char *text = xzalloc ((size_t) hdr[2] + 1);
  if (olrun_read_all (fd, text, (size_t) hdr[2]) != hdr[2])
    return olrun_fail (err, errno, "read error report from child: truncated");
  struct olrun_error *e = xzalloc (sizeof *e);
  e->kind = hdr[0];
  e->errnum = hdr[1];
  e->msg = TAKE_PTR (text);
  *received = e;
  return 1;
}
