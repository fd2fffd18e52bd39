/* Log sink for warnings and debug lines.  With --log-format json every line
 * is one JSON object, because podman reads the whole log file as JSON. */
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>

#include "olrun/log.h"
#include "olrun/util.h"

static int log_file = -1;   /* --log FILE, or -1 */
static enum olrun_log_format log_format = OLRUN_LOG_TEXT;
static bool log_debug;

int
olrun_log_init (const char *path, enum olrun_log_format fmt, bool debug)
{
  log_format = fmt;
  log_debug = debug;
  if (path == NULL || *path == '\0')
    return 0;
  int fd = open (path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0)
    return -1;
  log_file = fd;
  return 0;
}

bool
olrun_log_debug_enabled (void)
{
  return log_debug;
}

static const char *const level_names[] = { "debug", "info", "warning", "error" };

static void
emit (int fd, enum olrun_log_format fmt, enum olrun_log_level level, const char *msg)
{
  struct olrun_buf b = { 0 };
  if (fmt == OLRUN_LOG_JSON)
    {
      char *now = olrun_rfc3339_now ();
      olrun_buf_puts (&b, "{\"level\":");
      olrun_buf_json_string (&b, level_names[level]);
      olrun_buf_puts (&b, ",\"msg\":");
      olrun_buf_json_string (&b, msg);
      olrun_buf_puts (&b, ",\"time\":");
      olrun_buf_json_string (&b, now);
      olrun_buf_puts (&b, "}\n");
      free (now);
    }
  else if (level == OLRUN_LOG_ERROR)
    olrun_buf_printf (&b, "olrun: %s\n", msg);
  else
    olrun_buf_printf (&b, "olrun: %s: %s\n", level_names[level], msg);
  /* One write per line keeps the lines of concurrent writers whole. */
  olrun_write_all (fd, b.data, b.len);
  olrun_buf_free (&b);
}

/* Errors go to stderr and to the log file.  podman parses the whole log
 * file as JSON and treats anything there as the failure's cause, so
 * warnings and debug lines reach the file only with --debug. */
void
olrun_log (enum olrun_log_level level, const char *fmt, ...)
{
  if (level == OLRUN_LOG_DEBUG && !log_debug)
    return;
  va_list ap;
  va_start (ap, fmt);
  char *msg = xvasprintf (fmt, ap);
  va_end (ap);

  bool to_file = log_file >= 0 && (level == OLRUN_LOG_ERROR || log_debug);
  bool to_stderr = log_file < 0 || level >= OLRUN_LOG_WARN;
  if (to_file)
    emit (log_file, log_format, level, msg);
  if (to_stderr)
    emit (STDERR_FILENO, OLRUN_LOG_TEXT, level, msg);
  free (msg);
}
