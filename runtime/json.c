/* JSON through yajl: the offset-tracking tree and the writer.  This is the
 * only file that includes yajl (DESIGN.md, Layout). */
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_parse.h>

#include "olrun/json.h"
#include "olrun/util.h"

/* ---- arena ------------------------------------------------------------------
 * A document is freed at once, so nodes, keys and strings come from a bump
 * allocator: parsing a config is one malloc per 64 KiB, not one per value. */
struct arena_chunk
{
  struct arena_chunk *next;
  size_t used, size;
  max_align_t data[];
};

struct olrun_json_doc
{
  struct arena_chunk *chunks;
  char *name;
  char *text;
  olrun_json_t *root;
};

static void *
arena_alloc (olrun_json_doc_t *doc, size_t n)
{
  n = (n + sizeof (max_align_t) - 1) & ~(sizeof (max_align_t) - 1);
  struct arena_chunk *c = doc->chunks;
  if (c == NULL || c->size - c->used < n)
    {
      size_t size = n > 65536 ? n : 65536;
      c = xmalloc (sizeof *c + size);
      c->used = 0;
      c->size = size;
      c->next = doc->chunks;
      doc->chunks = c;
    }
  void *p = (char *) c->data + c->used;
  c->used += n;
  return p;
}

static char *
arena_strndup (olrun_json_doc_t *doc, const unsigned char *s, size_t len)
{
  char *p = arena_alloc (doc, len + 1);
  memcpy (p, s, len);
  p[len] = '\0';
  return p;
}

void
olrun_json_doc_free (olrun_json_doc_t *doc)
{
  if (doc == NULL)
    return;
  while (doc->chunks)
    {
      struct arena_chunk *next = doc->chunks->next;
      free (doc->chunks);
      doc->chunks = next;
    }
  free (doc->name);
  free (doc->text);
  free (doc);
}

void
olrun_json_doc_freep (olrun_json_doc_t **doc)
{
  olrun_json_doc_free (*doc);
  *doc = NULL;
}

const olrun_json_t *
olrun_json_root (const olrun_json_doc_t *doc)
{
  return doc->root;
}
const char *
olrun_json_doc_name (const olrun_json_doc_t *doc)
{
  return doc->name;
}
const char *
olrun_json_doc_text (const olrun_json_doc_t *doc)
{
  return doc->text;
}

/* ---- building the tree from yajl callbacks --------------------------------- */
struct frame
{
  olrun_json_t *node;
  olrun_json_t **items; /* children so far (heap, copied to the arena on close) */
  const char **keys;
  size_t len, cap;
  const char *pending_key;
};

struct builder
{
  olrun_json_doc_t *doc;
  yajl_handle handle;
  const char *text;
  struct frame *stack;
  size_t depth, cap;
};

static size_t
consumed (struct builder *b)
{
  return yajl_get_bytes_consumed (b->handle);
}

/* yajl reports where a token ends; find where it starts by scanning back. */
static size_t
scalar_start (struct builder *b, size_t end)
{
  size_t i = end;
  if (i > 0 && b->text[i - 1] == '"')
    {
      /* A string: the opening quote is the first one, scanning back, that
       * is not escaped (preceded by an even number of backslashes). */
      for (i = end - 1; i > 0;)
        {
          i--;
          if (b->text[i] != '"')
            continue;
          size_t bs = 0;
          while (i - bs > 0 && b->text[i - bs - 1] == '\\')
            bs++;
          if (bs % 2 == 0)
            return i;
        }
      return 0;
    }
  while (i > 0 && strchr ("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ+-.", b->text[i - 1]))
    i--;
  return i;
}

static int
attach (struct builder *b, olrun_json_t *n)
{
  if (b->depth == 0)
    {
      b->doc->root = n;
      return 1;
    }
  struct frame *f = &b->stack[b->depth - 1];
  if (f->len == f->cap)
    {
      f->cap = f->cap ? f->cap * 2 : 8;
      f->items = xreallocarray (f->items, f->cap, sizeof *f->items);
      if (f->node->type == OLRUN_JSON_OBJECT)
        f->keys = xreallocarray (f->keys, f->cap, sizeof *f->keys);
    }
  if (f->node->type == OLRUN_JSON_OBJECT)
    f->keys[f->len] = f->pending_key;
  f->items[f->len++] = n;
  return 1;
}

static olrun_json_t *
new_scalar (struct builder *b, enum olrun_json_type type)
{
  olrun_json_t *n = arena_alloc (b->doc, sizeof *n);
  memset (n, 0, sizeof *n);
  n->type = type;
  n->end = consumed (b);
  n->offset = scalar_start (b, n->end);
  return n;
}

static int
cb_null (void *ctx)
{
  struct builder *b = ctx;
  return attach (b, new_scalar (b, OLRUN_JSON_NULL));
}

static int
cb_boolean (void *ctx, int v)
{
  struct builder *b = ctx;
  olrun_json_t *n = new_scalar (b, OLRUN_JSON_BOOL);
  n->u.boolean = v != 0;
  return attach (b, n);
}

static int
cb_number (void *ctx, const char *s, size_t len)
{
  struct builder *b = ctx;
  olrun_json_t *n = new_scalar (b, OLRUN_JSON_NUMBER);
  n->u.number = arena_strndup (b->doc, (const unsigned char *) s, len);
  return attach (b, n);
}

static int
cb_string (void *ctx, const unsigned char *s, size_t len)
{
  struct builder *b = ctx;
  olrun_json_t *n = new_scalar (b, OLRUN_JSON_STRING);
  n->u.string.str = arena_strndup (b->doc, s, len);
  n->u.string.len = len;
  return attach (b, n);
}

static int
open_container (struct builder *b, enum olrun_json_type type)
{
  olrun_json_t *n = arena_alloc (b->doc, sizeof *n);
  memset (n, 0, sizeof *n);
  n->type = type;
  n->offset = consumed (b) - 1;
  attach (b, n);
  if (b->depth == b->cap)
    {
      b->cap = b->cap ? b->cap * 2 : 16;
      b->stack = xreallocarray (b->stack, b->cap, sizeof *b->stack);
    }
  b->stack[b->depth++] = (struct frame){ .node = n };
  return 1;
}

static int
close_container (struct builder *b)
{
  struct frame *f = &b->stack[--b->depth];
  olrun_json_t *n = f->node;
  n->end = consumed (b);
  olrun_json_t **items = arena_alloc (b->doc, (f->len ? f->len : 1) * sizeof *items);
  /* An empty container has no heap arrays: memcpy from NULL is UB even for 0 bytes. */
  if (f->len)
    memcpy (items, f->items, f->len * sizeof *items);
  if (n->type == OLRUN_JSON_OBJECT)
    {
      const char **keys = arena_alloc (b->doc, (f->len ? f->len : 1) * sizeof *keys);
      if (f->len)
        memcpy (keys, f->keys, f->len * sizeof *keys);
      n->u.object.keys = keys;
      n->u.object.values = items;
      n->u.object.len = f->len;
    }
  else
    {
      n->u.array.items = items;
      n->u.array.len = f->len;
    }
  free (f->items);
  free (f->keys);
  return 1;
}

static int
cb_start_map (void *ctx)
{
  return open_container (ctx, OLRUN_JSON_OBJECT);
}
static int
cb_map_key (void *ctx, const unsigned char *s, size_t len)
{
  struct builder *b = ctx;
  b->stack[b->depth - 1].pending_key = arena_strndup (b->doc, s, len);
  return 1;
}
static int
cb_end (void *ctx)
{
  return close_container (ctx);
}
static int
cb_start_array (void *ctx)
{
  return open_container (ctx, OLRUN_JSON_ARRAY);
}

static const yajl_callbacks callbacks = {
  .yajl_null = cb_null,
  .yajl_boolean = cb_boolean,
  .yajl_number = cb_number,
  .yajl_string = cb_string,
  .yajl_start_map = cb_start_map,
  .yajl_map_key = cb_map_key,
  .yajl_end_map = cb_end,
  .yajl_start_array = cb_start_array,
  .yajl_end_array = cb_end,
};

static int
syntax_error (struct builder *b, const char *text, size_t len, size_t off, olrun_error_t *err)
{
  unsigned char *msg = yajl_get_error (b->handle, 0, (const unsigned char *) text, len);
  /* yajl's message is "parse error: <what>" possibly with newlines. */
  char *m = xstrdup ((const char *) msg);
  for (char *p = m; *p; p++)
    if (*p == '\n')
      *p = ' ';
  size_t mlen = strlen (m);
  while (mlen > 0 && m[mlen - 1] == ' ')
    m[--mlen] = '\0';
  olrun_invalid (err, "%s: invalid JSON at byte %zu: %s", b->doc->name, off, m);
  free (m);
  yajl_free_error (b->handle, msg);
  return -1;
}

int
olrun_json_parse (const char *text, size_t len, const char *name, olrun_json_doc_t **ret,
                  olrun_error_t *err)
{
  olrun_json_doc_t *doc = xzalloc (sizeof *doc);
  doc->name = xstrdup (name);
  doc->text = xstrndup (text, len);
  struct builder b = { .doc = doc, .text = doc->text };
  b.handle = yajl_alloc (&callbacks, NULL, &b);
  if (b.handle == NULL)
    abort ();
  int rc = 0;
  if (yajl_parse (b.handle, (const unsigned char *) doc->text, len) != yajl_status_ok)
    {
      /* yajl counts the offending token as consumed; point at its start
       * (exact for the usual one-character culprit). */
      size_t at = yajl_get_bytes_consumed (b.handle);
      rc = syntax_error (&b, doc->text, len, at > 0 ? at - 1 : 0, err);
    }
  else if (yajl_complete_parse (b.handle) != yajl_status_ok)
    rc = syntax_error (&b, doc->text, len, len, err); /* truncated: the error is at the end */
  else if (doc->root == NULL)
    rc = olrun_invalid (err, "%s: empty document", name);
  /* On an error mid-document, frames may still hold heap arrays. */
  for (size_t i = 0; i < b.depth; i++)
    {
      free (b.stack[i].items);
      free (b.stack[i].keys);
    }
  free (b.stack);
  yajl_free (b.handle);
  if (rc < 0)
    {
      olrun_json_doc_free (doc);
      return rc;
    }
  *ret = doc;
  return 0;
}

int
olrun_json_parse_file (int dirfd, const char *path, olrun_json_doc_t **ret, olrun_error_t *err)
{
  _cleanup_close_ int fd = openat (dirfd, path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return olrun_error_set (err, errno == ENOENT ? OLRUN_E_INVALID : OLRUN_E_GENERIC, errno,
                            "open `%s`", path);
  struct stat st;
  if (fstat (fd, &st) < 0)
    return olrun_fail (err, errno, "stat `%s`", path);
  if (!S_ISREG (st.st_mode))
    return olrun_invalid (err, "`%s` is not a regular file", path);
  _cleanup_free_ char *text = NULL;
  size_t len = 0;
  if (olrun_read_fd (fd, &text, &len, err) < 0)
    return olrun_error_wrap (err, "`%s`", path);
  return olrun_json_parse (text, len, path, ret, err);
}

const olrun_json_t *
olrun_json_get (const olrun_json_t *obj, const char *key)
{
  if (obj == NULL || obj->type != OLRUN_JSON_OBJECT)
    return NULL;
  /* Last one wins for duplicate keys, as in Go's encoding/json. */
  for (size_t i = obj->u.object.len; i-- > 0;)
    if (strcmp (obj->u.object.keys[i], key) == 0)
      return obj->u.object.values[i];
  return NULL;
}

const char *
olrun_json_type_name (enum olrun_json_type t)
{
  static const char *const names[] = { "null", "a boolean", "a number", "a string", "an object", "an array" };
  return names[t];
}

/* ---- writer ---------------------------------------------------------------- */
struct olrun_jw
{
  yajl_gen gen;
};

olrun_jw_t *
olrun_jw_new (bool pretty)
{
  olrun_jw_t *w = xzalloc (sizeof *w);
  w->gen = yajl_gen_alloc (NULL);
  if (w->gen == NULL)
    abort ();
  if (pretty)
    {
      yajl_gen_config (w->gen, yajl_gen_beautify, 1);
      yajl_gen_config (w->gen, yajl_gen_indent_string, "  ");
    }
  return w;
}

void
olrun_jw_free (olrun_jw_t *w)
{
  if (w == NULL)
    return;
  yajl_gen_free (w->gen);
  free (w);
}

void olrun_jw_object_open (olrun_jw_t *w) { yajl_gen_map_open (w->gen); }
void olrun_jw_object_close (olrun_jw_t *w) { yajl_gen_map_close (w->gen); }
void olrun_jw_array_open (olrun_jw_t *w) { yajl_gen_array_open (w->gen); }
void olrun_jw_array_close (olrun_jw_t *w) { yajl_gen_array_close (w->gen); }
void olrun_jw_bool (olrun_jw_t *w, bool v) { yajl_gen_bool (w->gen, v); }
void olrun_jw_null (olrun_jw_t *w) { yajl_gen_null (w->gen); }
void olrun_jw_double (olrun_jw_t *w, double v) { yajl_gen_double (w->gen, v); }

void
olrun_jw_key (olrun_jw_t *w, const char *key)
{
  yajl_gen_string (w->gen, (const unsigned char *) key, strlen (key));
}

void
olrun_jw_string (olrun_jw_t *w, const char *s)
{
  if (s == NULL)
    yajl_gen_null (w->gen);
  else
    yajl_gen_string (w->gen, (const unsigned char *) s, strlen (s));
}

void
olrun_jw_int (olrun_jw_t *w, int64_t v)
{
  yajl_gen_integer (w->gen, v);
}

void
olrun_jw_uint (olrun_jw_t *w, uint64_t v)
{
  char buf[32];
  int n = snprintf (buf, sizeof buf, "%" PRIu64, v);
  yajl_gen_number (w->gen, buf, (size_t) n);
}

void
olrun_jw_node (olrun_jw_t *w, const olrun_json_t *n)
{
  switch (n->type)
    {
    case OLRUN_JSON_NULL: yajl_gen_null (w->gen); break;
    case OLRUN_JSON_BOOL: yajl_gen_bool (w->gen, n->u.boolean); break;
    case OLRUN_JSON_NUMBER: yajl_gen_number (w->gen, n->u.number, strlen (n->u.number)); break;
    case OLRUN_JSON_STRING:
      yajl_gen_string (w->gen, (const unsigned char *) n->u.string.str, n->u.string.len);
      break;
    case OLRUN_JSON_OBJECT:
      yajl_gen_map_open (w->gen);
      for (size_t i = 0; i < n->u.object.len; i++)
        {
          olrun_jw_key (w, n->u.object.keys[i]);
          olrun_jw_node (w, n->u.object.values[i]);
        }
      yajl_gen_map_close (w->gen);
      break;
    case OLRUN_JSON_ARRAY:
      yajl_gen_array_open (w->gen);
      for (size_t i = 0; i < n->u.array.len; i++)
        olrun_jw_node (w, n->u.array.items[i]);
      yajl_gen_array_close (w->gen);
      break;
    }
}

const char *
olrun_jw_text (olrun_jw_t *w, size_t *len)
{
  const unsigned char *buf = NULL;
  size_t l = 0;
  yajl_gen_get_buf (w->gen, &buf, &l);
  if (len)
    *len = l;
  return (const char *) buf;
}

void
olrun_jw_kv_string (olrun_jw_t *w, const char *key, const char *s)
{
  olrun_jw_key (w, key);
  olrun_jw_string (w, s);
}
void
olrun_jw_kv_int (olrun_jw_t *w, const char *key, int64_t v)
{
  olrun_jw_key (w, key);
  olrun_jw_int (w, v);
}
void
olrun_jw_kv_bool (olrun_jw_t *w, const char *key, bool v)
{
  olrun_jw_key (w, key);
  olrun_jw_bool (w, v);
}
