/* Logging.  Library code reports failures through olrun_error_t and never
 * prints them; it may only leave debug lines and warnings here.  The CLI
 * decides where they go (stderr, or --log FILE in text or JSON). */
#ifndef OLRUN_LOG_H
#define OLRUN_LOG_H

#include <stdbool.h>

enum olrun_log_level { OLRUN_LOG_DEBUG, OLRUN_LOG_INFO, OLRUN_LOG_WARN, OLRUN_LOG_ERROR };
enum olrun_log_format { OLRUN_LOG_TEXT, OLRUN_LOG_JSON };

/* path NULL: stderr.  Returns -1 with errno when the file cannot be opened. */
int olrun_log_init (const char *path, enum olrun_log_format fmt, bool debug);
bool olrun_log_debug_enabled (void);
void olrun_log (enum olrun_log_level level, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

#define olrun_debug(...) do { if (olrun_log_debug_enabled ()) olrun_log (OLRUN_LOG_DEBUG, __VA_ARGS__); } while (0)
#define olrun_warn(...) olrun_log (OLRUN_LOG_WARN, __VA_ARGS__)

#endif
