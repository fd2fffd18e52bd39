/* A small JSON tree that remembers where each value came from, and a JSON
 * writer.  runtime/json.c is the only file that talks to yajl.
 *
 * Offsets are what make config errors useful: every node records the byte
 * offsets of its first and last byte, so "config.json: process.args[2]:
 * expected a string (byte 118)" points at the value, and a node's raw text
 * (offset..end) can be hashed, e.g. to key the seccomp BPF cache. */
#ifndef OLRUN_JSON_H
#define OLRUN_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "olrun/error.h"

enum olrun_json_type
{
  OLRUN_JSON_NULL,
  OLRUN_JSON_BOOL,
  OLRUN_JSON_NUMBER,
  OLRUN_JSON_STRING,
  OLRUN_JSON_OBJECT,
  OLRUN_JSON_ARRAY,
};

typedef struct olrun_json olrun_json_t;
struct olrun_json
{
  enum olrun_json_type type;
  size_t offset;  /* first byte of the value in the document */
  size_t end;     /* one past its last byte */
  union
  {
    bool boolean;
    const char *number; /* the literal text, converted on demand */
    struct
    {
      const char *str;
      size_t len;
    } string;
    struct
    {
      const char **keys;
      olrun_json_t **values;
      size_t len;
    } object;
    struct
    {
      olrun_json_t **items;
      size_t len;
    } array;
  } u;
};

/* A parsed document: the tree, its source text and the arena behind both. */
typedef struct olrun_json_doc olrun_json_doc_t;

/* Parse `len` bytes; `name` (a file name) prefixes every error message.
 * Syntax errors name the byte offset. */
int olrun_json_parse (const char *text, size_t len, const char *name, olrun_json_doc_t **ret,
                      olrun_error_t *err);
/* Read and parse a file.  A directory, a missing file or a bad document is
 * an error naming the file. */
int olrun_json_parse_file (int dirfd, const char *path, olrun_json_doc_t **ret, olrun_error_t *err);
const olrun_json_t *olrun_json_root (const olrun_json_doc_t *doc);
const char *olrun_json_doc_name (const olrun_json_doc_t *doc);
const char *olrun_json_doc_text (const olrun_json_doc_t *doc);
void olrun_json_doc_free (olrun_json_doc_t *doc);
void olrun_json_doc_freep (olrun_json_doc_t **doc);
#define _cleanup_json_doc_ __attribute__ ((cleanup (olrun_json_doc_freep)))

/* Look a key up in an object node; NULL if absent (or node is not an object). */
const olrun_json_t *olrun_json_get (const olrun_json_t *obj, const char *key);
const char *olrun_json_type_name (enum olrun_json_type t);

/* ---- decoding with JSON paths --------------------------------------------
 * A path is a chain of stack frames, so building one costs nothing until an
 * error is formatted: "linux.namespaces[1].type". */
struct olrun_jpath
{
  const struct olrun_jpath *parent;
  const char *key;  /* object member, or NULL for an array element */
  size_t index;
};
#define OLRUN_JPATH_KEY(p, k) ((struct olrun_jpath){ .parent = (p), .key = (k) })
#define OLRUN_JPATH_INDEX(p, i) ((struct olrun_jpath){ .parent = (p), .key = NULL, .index = (i) })

/* What every decoder needs: the document (for its name) and the error. */
struct olrun_jdec
{
  const olrun_json_doc_t *doc;
  olrun_error_t *err;
};

/* Format the path into a heap string ("" for the root). */
char *olrun_jpath_format (const struct olrun_jpath *path);
/* Set an INVALID error "<file>: <path>: <msg> (byte N)"; returns -1. */
int olrun_jdec_error (const struct olrun_jdec *d, const struct olrun_jpath *path,
                      const olrun_json_t *node, const char *fmt, ...)
  __attribute__ ((format (printf, 4, 5)));

/* Typed member access.  `obj` must be an object node.  For each getter, a
 * missing member returns 0 and leaves *ret untouched unless `required`, in
 * which case it is an error; null counts as missing.  A wrong type is an
 * error naming the path.  Strings are copied (heap). */
int olrun_jdec_string (const struct olrun_jdec *d, const olrun_json_t *obj, const struct olrun_jpath *p,
                       const char *key, bool required, char **ret);
int olrun_jdec_bool (const struct olrun_jdec *d, const olrun_json_t *obj, const struct olrun_jpath *p,
                     const char *key, bool *ret);
/* Integers in [min, max]; *present is set when given (may be NULL). */
int olrun_jdec_int64 (const struct olrun_jdec *d, const olrun_json_t *obj, const struct olrun_jpath *p,
                      const char *key, int64_t min, int64_t max, int64_t *ret, bool *present);
int olrun_jdec_uint64 (const struct olrun_jdec *d, const olrun_json_t *obj, const struct olrun_jpath *p,
                       const char *key, uint64_t *ret, bool *present);
/* An array of strings into a NULL-terminated vector. */
int olrun_jdec_strv (const struct olrun_jdec *d, const olrun_json_t *obj, const struct olrun_jpath *p,
                     const char *key, bool required, char ***ret);
/* A member that must be an object or an array: returns it, NULL when absent
 * (ok), or sets an error and returns NULL with *failed = true. */
const olrun_json_t *olrun_jdec_member (const struct olrun_jdec *d, const olrun_json_t *obj,
                                       const struct olrun_jpath *p, const char *key,
                                       enum olrun_json_type type, bool required, bool *failed);
/* Check a node's type; error naming the path when it differs. */
int olrun_jdec_expect (const struct olrun_jdec *d, const olrun_json_t *node, const struct olrun_jpath *p,
                       enum olrun_json_type type);
/* Number node conversions with range checks (no path: the caller has it). */
int olrun_json_number_int64 (const olrun_json_t *n, int64_t *ret);
int olrun_json_number_uint64 (const olrun_json_t *n, uint64_t *ret);
/* A string node as a heap C string; embedded NULs are refused. */
int olrun_jdec_string_node (const struct olrun_jdec *d, const olrun_json_t *n, const struct olrun_jpath *p,
                            char **ret);

/* ---- writing --------------------------------------------------------------
 * A thin writer over yajl_gen: pretty = false gives one line. */
typedef struct olrun_jw olrun_jw_t;
olrun_jw_t *olrun_jw_new (bool pretty);
void olrun_jw_free (olrun_jw_t *w);
void olrun_jw_object_open (olrun_jw_t *w);
void olrun_jw_object_close (olrun_jw_t *w);
void olrun_jw_array_open (olrun_jw_t *w);
void olrun_jw_array_close (olrun_jw_t *w);
void olrun_jw_key (olrun_jw_t *w, const char *key);
void olrun_jw_string (olrun_jw_t *w, const char *s);   /* NULL writes null */
void olrun_jw_int (olrun_jw_t *w, int64_t v);
void olrun_jw_uint (olrun_jw_t *w, uint64_t v);
void olrun_jw_double (olrun_jw_t *w, double v);
void olrun_jw_bool (olrun_jw_t *w, bool v);
void olrun_jw_null (olrun_jw_t *w);
/* Copy a parsed node into the output as is (used to carry config sections
 * such as annotations or resources into state.json). */
void olrun_jw_node (olrun_jw_t *w, const olrun_json_t *node);
/* The text so far (valid until the next call); len may be NULL. */
const char *olrun_jw_text (olrun_jw_t *w, size_t *len);
/* Key + value shortcuts. */
void olrun_jw_kv_string (olrun_jw_t *w, const char *key, const char *s);
void olrun_jw_kv_int (olrun_jw_t *w, const char *key, int64_t v);
void olrun_jw_kv_bool (olrun_jw_t *w, const char *key, bool v);

#endif
