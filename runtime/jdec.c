/* Typed access to a parsed JSON tree, with errors that name the file, the
 * JSON path and the byte offset: "config.json: process.args[2]: expected a
 * string, got a number (byte 118)". */
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>

#include "olrun/json.h"
#include "olrun/util.h"

static void
format_path (struct olrun_buf *b, const struct olrun_jpath *p)
{
  if (p == NULL)
    return;
  format_path (b, p->parent);
  if (p->key == NULL)
    olrun_buf_printf (b, "[%zu]", p->index);
  else
    {
      if (b->len > 0)
        olrun_buf_puts (b, ".");
      olrun_buf_puts (b, p->key);
    }
}

char *
olrun_jpath_format (const struct olrun_jpath *path)
{
  struct olrun_buf b = { 0 };
  format_path (&b, path);
  return olrun_buf_steal (&b);
}

int
olrun_jdec_error (const struct olrun_jdec *d, const struct olrun_jpath *path, const olrun_json_t *node,
                  const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  char *msg = xvasprintf (fmt, ap);
  va_end (ap);
  _cleanup_free_ char *p = olrun_jpath_format (path);
  struct olrun_buf b = { 0 };
  olrun_buf_printf (&b, "%s: ", olrun_json_doc_name (d->doc));
  if (*p)
    olrun_buf_printf (&b, "%s: ", p);
  olrun_buf_puts (&b, msg);
  if (node)
    olrun_buf_printf (&b, " (byte %zu)", node->offset);
  free (msg);
  olrun_invalid (d->err, "%s", b.data);
  olrun_buf_free (&b);
  return -1;
}

int
olrun_jdec_expect (const struct olrun_jdec *d, const olrun_json_t *node, const struct olrun_jpath *p,
                   enum olrun_json_type type)
{
  if (node->type == type)
    return 0;
  return olrun_jdec_error (d, p, node, "expected %s, got %s", olrun_json_type_name (type),
                           olrun_json_type_name (node->type));
}

/* Look up `key`; null counts as absent. */
static const olrun_json_t *
lookup (const olrun_json_t *obj, const char *key)
{
  const olrun_json_t *n = olrun_json_get (obj, key);
  return n && n->type != OLRUN_JSON_NULL ? n : NULL;
}

static int
missing (const struct olrun_jdec *d, const olrun_json_t *obj, const struct olrun_jpath *p, const char *key)
{
  struct olrun_jpath kp = OLRUN_JPATH_KEY (p, key);
  return olrun_jdec_error (d, &kp, obj, "required but missing");
}

int
olrun_jdec_string_node (const struct olrun_jdec *d, const olrun_json_t *n, const struct olrun_jpath *p,
                        char **ret)
{
  if (olrun_jdec_expect (d, n, p, OLRUN_JSON_STRING) < 0)
    return -1;
  if (strlen (n->u.string.str) != n->u.string.len)
    return olrun_jdec_error (d, p, n, "string contains a NUL byte");
  *ret = xstrdup (n->u.string.str);
  return 0;
}

int
olrun_jdec_string (const struct olrun_jdec *d, const olrun_json_t *obj, const struct olrun_jpath *p,
                   const char *key, bool required, char **ret)
{
  const olrun_json_t *n = lookup (obj, key);
  if (n == NULL)
    return required ? missing (d, obj, p, key) : 0;
  struct olrun_jpath kp = OLRUN_JPATH_KEY (p, key);
  char *s = NULL;
  if (olrun_jdec_string_node (d, n, &kp, &s) < 0)
    return -1;
  free (*ret);
  *ret = s;
  return 0;
}

int
olrun_jdec_bool (const struct olrun_jdec *d, const olrun_json_t *obj, const struct olrun_jpath *p,
                 const char *key, bool *ret)
{
  const olrun_json_t *n = lookup (obj, key);
  if (n == NULL)
    return 0;
  struct olrun_jpath kp = OLRUN_JPATH_KEY (p, key);
  if (olrun_jdec_expect (d, n, &kp, OLRUN_JSON_BOOL) < 0)
    return -1;
  *ret = n->u.boolean;
  return 0;
}

int
olrun_json_number_int64 (const olrun_json_t *n, int64_t *ret)
{
  if (n->type != OLRUN_JSON_NUMBER)
    return -1;
  return olrun_parse_int64 (n->u.number, ret);
}

int
olrun_json_number_uint64 (const olrun_json_t *n, uint64_t *ret)
{
  if (n->type != OLRUN_JSON_NUMBER || n->u.number[0] == '-')
    return -1;
  char *end = NULL;
  errno = 0;
  unsigned long long v = strtoull (n->u.number, &end, 10);
  if (errno != 0 || *end != '\0')
    return -1;
  *ret = v;
  return 0;
}

int
olrun_jdec_int64 (const struct olrun_jdec *d, const olrun_json_t *obj, const struct olrun_jpath *p,
                  const char *key, int64_t min, int64_t max, int64_t *ret, bool *present)
{
  const olrun_json_t *n = lookup (obj, key);
  if (n == NULL)
    return 0;
  struct olrun_jpath kp = OLRUN_JPATH_KEY (p, key);
  if (olrun_jdec_expect (d, n, &kp, OLRUN_JSON_NUMBER) < 0)
    return -1;
  int64_t v;
  if (olrun_json_number_int64 (n, &v) < 0 || v < min || v > max)
    return olrun_jdec_error (d, &kp, n, "expected an integer in [%" PRId64 ", %" PRId64 "], got %s", min,
                             max, n->u.number);
  *ret = v;
  if (present)
    *present = true;
  return 0;
}

int
olrun_jdec_uint64 (const struct olrun_jdec *d, const olrun_json_t *obj, const struct olrun_jpath *p,
                   const char *key, uint64_t *ret, bool *present)
{
  const olrun_json_t *n = lookup (obj, key);
  if (n == NULL)
    return 0;
  struct olrun_jpath kp = OLRUN_JPATH_KEY (p, key);
  if (olrun_jdec_expect (d, n, &kp, OLRUN_JSON_NUMBER) < 0)
    return -1;
  uint64_t v;
  if (olrun_json_number_uint64 (n, &v) < 0)
    return olrun_jdec_error (d, &kp, n, "expected a non-negative integer, got %s", n->u.number);
  *ret = v;
  if (present)
    *present = true;
  return 0;
}

int
olrun_jdec_strv (const struct olrun_jdec *d, const olrun_json_t *obj, const struct olrun_jpath *p,
                 const char *key, bool required, char ***ret)
{
  const olrun_json_t *n = lookup (obj, key);
  if (n == NULL)
    return required ? missing (d, obj, p, key) : 0;
  struct olrun_jpath kp = OLRUN_JPATH_KEY (p, key);
  if (olrun_jdec_expect (d, n, &kp, OLRUN_JSON_ARRAY) < 0)
    return -1;
  _cleanup_strv_ char **v = xzalloc ((n->u.array.len + 1) * sizeof *v);
  for (size_t i = 0; i < n->u.array.len; i++)
    {
      struct olrun_jpath ip = OLRUN_JPATH_INDEX (&kp, i);
      if (olrun_jdec_string_node (d, n->u.array.items[i], &ip, &v[i]) < 0)
        return -1;
    }
  strv_free (*ret);
  *ret = TAKE_PTR (v);
  return 0;
}

const olrun_json_t *
olrun_jdec_member (const struct olrun_jdec *d, const olrun_json_t *obj, const struct olrun_jpath *p,
                   const char *key, enum olrun_json_type type, bool required, bool *failed)
{
  const olrun_json_t *n = lookup (obj, key);
  if (n == NULL)
    {
      if (required)
        {
          missing (d, obj, p, key);
          *failed = true;
        }
      return NULL;
    }
  struct olrun_jpath kp = OLRUN_JPATH_KEY (p, key);
  if (olrun_jdec_expect (d, n, &kp, type) < 0)
    {
      *failed = true;
      return NULL;
    }
  return n;
}
