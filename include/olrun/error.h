/* The one error type of olrun.
 *
 * Every fallible function has the shape `int f(..., olrun_error_t *err)`.
 * It returns a negative value (always -1) if and only if it has set *err.
 * Callers add context with olrun_error_wrap() on the way up; only cli/
 * prints, as "olrun: <msg>".  An error is set exactly once: setting an
 * error that is already set is a bug and aborts, so a lost error shows up
 * in the tests instead of leaking as crun's did (#1899, #1957).
 */
#ifndef OLRUN_ERROR_H
#define OLRUN_ERROR_H

#include <stdarg.h>
#include <stddef.h>

/* The kinds clients match on.  Set where the error arises, tested by kind,
 * never by string; the CLI turns some of them into exit codes. */
enum olrun_error_kind {
  OLRUN_E_GENERIC = 0,
  OLRUN_E_NOT_EXIST,     /* "container ... does not exist" */
  OLRUN_E_EXISTS,        /* duplicate ID */
  OLRUN_E_NOT_RUNNING,   /* "container not running" */
  OLRUN_E_NO_PROCESS,    /* "no such process" */
  OLRUN_E_BAD_STATE,     /* illegal lifecycle transition */
  OLRUN_E_INVALID,       /* bad config or argument */
  OLRUN_E_UNSUPPORTED,   /* the host or build lacks a feature */
  OLRUN_E_EXEC_NOENT,    /* the process binary is missing: exit 127 */
  OLRUN_E_EXEC_FAILED,   /* the process could not be started: exit 126 */
};

struct olrun_error {
  int errnum;            /* errno value, 0 when none applies */
  int kind;              /* enum olrun_error_kind */
  char *msg;             /* the full message, with strerror appended */
};
typedef struct olrun_error *olrun_error_t;

/* Set *err (which must be NULL) and return -1.  If errnum is not 0, ": "
 * and strerror(errnum) are appended to the formatted message. */
int olrun_error_set (olrun_error_t *err, int kind, int errnum, const char *fmt, ...)
  __attribute__ ((format (printf, 4, 5)));
int olrun_error_setv (olrun_error_t *err, int kind, int errnum, const char *fmt, va_list ap)
  __attribute__ ((format (printf, 4, 0)));

/* The common case: a generic error caused by errnum (0 for none). */
#define olrun_fail(err, errnum, ...) olrun_error_set ((err), OLRUN_E_GENERIC, (errnum), __VA_ARGS__)
/* A bad config or argument. */
#define olrun_invalid(err, ...) olrun_error_set ((err), OLRUN_E_INVALID, 0, __VA_ARGS__)

/* Prepend "<context>: " to an error that is set; returns -1. */
int olrun_error_wrap (olrun_error_t *err, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

/* Free the error and reset *err to NULL.  Safe on NULL. */
void olrun_error_release (olrun_error_t *err);

/* Move an error across a process boundary (the container's setup reports
 * its failure to the parent).  The wire format is kind, errnum, length, text. */
int olrun_error_write_fd (int fd, const struct olrun_error *e);
/* Reads one error written by olrun_error_write_fd.  Returns 0 on EOF with
 * nothing read (no error was sent), 1 when *received is set, -1 on failure. */
int olrun_error_read_fd (int fd, olrun_error_t *received, olrun_error_t *err);

#define _cleanup_error_ __attribute__ ((cleanup (olrun_error_release)))

#endif
