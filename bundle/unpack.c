/* The unpack pipeline: one thread reads each layer blob, hashes it and
 * inflates it (zlib or libzstd); the calling thread hashes the tar stream
 * (the DiffID), parses it with libarchive and writes it (writer.c).
 *
 * They meet in a ring of chunk buffers.  The reader runs ahead across layer
 * boundaries, so the next layer is being inflated while the current one is
 * still being written.  On this 2-core machine inflating is the long pole,
 * so it gets a thread of its own and the SHA-256 of the tar stream rides
 * with the writer. */
#include <pthread.h>
#include <string.h>

#include "bundle/dl.h"
#include "bundle/internal.h"
#include "olrun/util.h"

#define CHUNK_SIZE (1U << 20)
#define N_CHUNKS 48
#define IN_SIZE (256U << 10)

enum chunk_kind
{
  CHUNK_DATA,
  CHUNK_END,   /* the layer's stream ended and its blob digest matched */
  CHUNK_ERROR, /* the reader failed: its error is in pipe->reader_err */
};

struct chunk
{
  char *data;
  size_t len;
  enum chunk_kind kind;
};

struct pipe_state
{
  pthread_mutex_t mu;
  pthread_cond_t cv;
  struct chunk ring[N_CHUNKS];
  size_t head, count;    /* filled chunks: head .. head+count-1 */
  bool cancel;           /* the writer gave up: stop reading */
  olrun_error_t reader_err;
  const struct unpack_job *job;
  uint64_t total_out;    /* uncompressed bytes so far (the size cap) */
  /* writer side */
  bool holding;          /* the writer is using ring[head] */
  bool layer_done;
  struct sha256 diff;
};

/* ---- reader thread -------------------------------------------------------- */
/* The chunk being filled, or NULL when the writer cancelled. */
static struct chunk *
acquire (struct pipe_state *p)
{
  pthread_mutex_lock (&p->mu);
  while (p->count == N_CHUNKS && !p->cancel)
    pthread_cond_wait (&p->cv, &p->mu);
  struct chunk *c = p->cancel ? NULL : &p->ring[(p->head + p->count) % N_CHUNKS];
  pthread_mutex_unlock (&p->mu);
  if (c)
    {
      c->len = 0;
      c->kind = CHUNK_DATA;
    }
  return c;
}

static void
publish (struct pipe_state *p)
{
  pthread_mutex_lock (&p->mu);
  p->count++;
  pthread_cond_broadcast (&p->cv);
  pthread_mutex_unlock (&p->mu);
}

struct inflater
{
  enum { DEC_PLAIN, DEC_GZIP, DEC_ZSTD } kind;
  z_stream zs;
  ZSTD_DStream *zd;
  bool ended;            /* the last compressed frame/member is complete */
  struct chunk *out;
  size_t layer;
};

static int
emit_full (struct pipe_state *p, struct inflater *f, olrun_error_t *err)
{
  p->total_out += f->out->len;
  if (p->total_out > p->job->limits.max_size)
    return olrun_invalid (err, "layer %zu: uncompressed size exceeds the limit of %llu bytes (--max-size)", f->layer,
                          (unsigned long long) p->job->limits.max_size);
  publish (p);
  f->out = acquire (p);
  if (f->out == NULL)
    return olrun_fail (err, ECANCELED, "unpack cancelled");
  return 0;
}

/* One inflate call into the current chunk; returns zlib's code or -1. */
static int
gzip_step (struct pipe_state *p, struct inflater *f, olrun_error_t *err)
{
  f->zs.next_out = (unsigned char *) f->out->data + f->out->len;
  f->zs.avail_out = CHUNK_SIZE - (unsigned) f->out->len;
  int r = sym_inflate (&f->zs, Z_NO_FLUSH);
  f->out->len = CHUNK_SIZE - f->zs.avail_out;
  if (r == Z_STREAM_END)
    f->ended = true;
  else if (r != Z_OK && r != Z_BUF_ERROR)
    return olrun_invalid (err, "layer %zu: corrupt gzip data: %s", f->layer, f->zs.msg ? f->zs.msg : "inflate failed");
  if (f->out->len == CHUNK_SIZE && emit_full (p, f, err) < 0)
    return -1;
  return r;
}

static int
inflate_gzip (struct pipe_state *p, struct inflater *f, const unsigned char *in, size_t n, olrun_error_t *err)
{
  f->zs.next_in = (unsigned char *) in;
  f->zs.avail_in = (unsigned) n;
  while (f->zs.avail_in > 0)
    {
      if (f->ended)
        {
          /* Concatenated gzip members are one stream (RFC 1952, 2.2);
           * zero padding after the last one is tolerated, as gzip does. */
          if (f->zs.next_in[0] == 0)
            {
              for (size_t i = 0; i < f->zs.avail_in; i++)
                if (f->zs.next_in[i] != 0)
                  return olrun_invalid (err, "layer %zu: trailing garbage after the gzip stream", f->layer);
              return 0;
            }
          sym_inflateReset (&f->zs);
          f->ended = false;
        }
      if (gzip_step (p, f, err) < 0)
        return -1;
    }
  /* Output still pending inside zlib (the chunk filled on the last byte). */
  while (!f->ended && f->zs.avail_out == 0)
    {
      int r = gzip_step (p, f, err);
      if (r < 0)
        return -1;
      if (r == Z_BUF_ERROR)
        break;
    }
  return 0;
}

static int
inflate_zstd (struct pipe_state *p, struct inflater *f, const unsigned char *in, size_t n, olrun_error_t *err)
{
  ZSTD_inBuffer ib = { in, n, 0 };
  bool full = true;
  while (ib.pos < ib.size || full)
    {
      ZSTD_outBuffer ob = { f->out->data, CHUNK_SIZE, f->out->len };
      size_t r = sym_ZSTD_decompressStream (f->zd, &ob, &ib);
      if (sym_ZSTD_isError (r))
        return olrun_invalid (err, "layer %zu: corrupt zstd data: %s", f->layer, sym_ZSTD_getErrorName (r));
      f->ended = r == 0;
      f->out->len = ob.pos;
      full = ob.pos == ob.size;
      if (full && emit_full (p, f, err) < 0)
        return -1;
    }
  return 0;
}

static int
inflate_plain (struct pipe_state *p, struct inflater *f, const unsigned char *in, size_t n, olrun_error_t *err)
{
  while (n > 0)
    {
      size_t k = CHUNK_SIZE - f->out->len < n ? CHUNK_SIZE - f->out->len : n;
      memcpy (f->out->data + f->out->len, in, k);
      f->out->len += k;
      in += k;
      n -= k;
      if (f->out->len == CHUNK_SIZE && emit_full (p, f, err) < 0)
        return -1;
    }
  return 0;
}

static int
inflater_start (struct inflater *f, const unsigned char *in, size_t n, olrun_error_t *err)
{
  if (n >= 2 && in[0] == 0x1f && in[1] == 0x8b)
    {
      f->kind = DEC_GZIP;
      /* 15 + 32: a 32 KiB window, gzip or zlib header detected. */
      if (sym_inflateInit2_ (&f->zs, 15 + 32, ZLIB_VERSION, (int) sizeof f->zs) != Z_OK)
        return olrun_fail (err, 0, "zlib: inflateInit2 failed");
    }
  else if (n >= 4 && in[0] == 0x28 && in[1] == 0xb5 && in[2] == 0x2f && in[3] == 0xfd)
    {
      f->kind = DEC_ZSTD;
      f->zd = sym_ZSTD_createDStream ();
      if (f->zd == NULL || sym_ZSTD_isError (sym_ZSTD_initDStream (f->zd)))
        return olrun_fail (err, 0, "zstd: cannot create a decompression stream");
    }
  else
    f->kind = DEC_PLAIN;
  return 0;
}

static void
inflater_end (struct inflater *f)
{
  if (f->kind == DEC_GZIP)
    sym_inflateEnd (&f->zs);
  if (f->zd)
    sym_ZSTD_freeDStream (f->zd);
  f->zd = NULL;
  f->kind = DEC_PLAIN;
}

static void
report (struct pipe_state *p, size_t i, uint64_t done, bool finished)
{
  const struct unpack_job *j = p->job;
  if (j->progress == NULL)
    return;
  const struct descriptor *d = j->layers[i].desc;
  struct olrun_progress pr = {
    .phase = OLRUN_PROGRESS_UNPACK, .layer = i, .n_layers = j->n_layers, .digest = d->digest,
    .done = done, .total = d->size > 0 ? (uint64_t) d->size : 0, .finished = finished,
  };
  j->progress (j->progress_data, &pr);
}

/* Read, hash and inflate layer i into the ring; the last chunk is END. */
static int
read_layer (struct pipe_state *p, size_t i, unsigned char *in, olrun_error_t *err)
{
  const struct unpack_layer *l = &p->job->layers[i];
  struct blob_reader *r = NULL;
  if (p->job->src->ops->open_blob (p->job->src, l->desc, &r, err) < 0)
    return olrun_error_wrap (err, "layer %zu", i);
  struct sha256 h = { 0 };
  struct inflater f = { .layer = i };
  uint64_t done = 0, next_report = 0;
  int rc = sha256_init (&h, err);
  if (rc == 0 && (f.out = acquire (p)) == NULL)
    rc = olrun_fail (err, ECANCELED, "unpack cancelled");
  for (bool first = true; rc == 0;)
    {
      ssize_t n = r->read (r, in, IN_SIZE, err);
      if (n < 0)
        rc = olrun_error_wrap (err, "layer %zu", i);
      if (n <= 0)
        break;
      sha256_update (&h, in, (size_t) n);
      done += (uint64_t) n;
      if (first && (rc = inflater_start (&f, in, (size_t) n, err)) < 0)
        break;
      first = false;
      rc = f.kind == DEC_GZIP ? inflate_gzip (p, &f, in, (size_t) n, err)
           : f.kind == DEC_ZSTD ? inflate_zstd (p, &f, in, (size_t) n, err)
                                : inflate_plain (p, &f, in, (size_t) n, err);
      if (done >= next_report)
        {
          report (p, i, done, false);
          next_report = done + (4U << 20);
        }
    }
  if (rc == 0 && f.kind != DEC_PLAIN && !f.ended)
    rc = olrun_invalid (err, "layer %zu: truncated %s stream", i, f.kind == DEC_GZIP ? "gzip" : "zstd");
  char got[DIGEST_LEN + 1] = "";
  if (rc == 0)
    sha256_final (&h, got);
  if (rc == 0 && l->desc->digest && !r->verified && strcmp (got, l->desc->digest) != 0)
    rc = olrun_invalid (err, "layer %zu: digest mismatch: expected %s, got %s", i, l->desc->digest, got);
  if (rc == 0 && l->desc->size >= 0 && (uint64_t) l->desc->size != done)
    rc = olrun_invalid (err, "layer %zu: size mismatch: expected %lld bytes, got %llu", i,
                        (long long) l->desc->size, (unsigned long long) done);
  if (rc == 0 && f.out->len > 0)
    {
      p->total_out += f.out->len;
      if (p->total_out > p->job->limits.max_size)
        rc = olrun_invalid (err, "layer %zu: uncompressed size exceeds the limit of %llu bytes (--max-size)", i,
                            (unsigned long long) p->job->limits.max_size);
      else
        {
          publish (p);
          f.out = acquire (p);
          if (f.out == NULL)
            rc = olrun_fail (err, ECANCELED, "unpack cancelled");
        }
    }
  if (rc == 0)
    {
      f.out->kind = CHUNK_END;
      publish (p);
      report (p, i, done, true);
    }
  inflater_end (&f);
  sha256_free (&h);
  r->close (r);
  return rc;
}

static void *
reader_main (void *arg)
{
  struct pipe_state *p = arg;
  unsigned char *in = xmalloc (IN_SIZE);
  for (size_t i = 0; i < p->job->n_layers; i++)
    if (read_layer (p, i, in, &p->reader_err) < 0)
      {
        /* Tell the writer; a slot is free or it cancelled. */
        struct chunk *c = acquire (p);
        if (c)
          {
            c->kind = CHUNK_ERROR;
            publish (p);
          }
        break;
      }
  free (in);
  return NULL;
}

/* ---- writer side ---------------------------------------------------------- */
static void
release_held (struct pipe_state *p)
{
  /* An ERROR chunk is never released: it marks that the reader stopped. */
  if (!p->holding || p->ring[p->head].kind == CHUNK_ERROR)
    return;
  pthread_mutex_lock (&p->mu);
  p->head = (p->head + 1) % N_CHUNKS;
  p->count--;
  p->holding = false;
  pthread_cond_broadcast (&p->cv);
  pthread_mutex_unlock (&p->mu);
}

/* Next chunk of the current layer, hashed; NULL at its end or on error. */
static struct chunk *
next_chunk (struct pipe_state *p)
{
  release_held (p);
  if (p->layer_done)
    return NULL;
  pthread_mutex_lock (&p->mu);
  while (p->count == 0)
    pthread_cond_wait (&p->cv, &p->mu);
  struct chunk *c = &p->ring[p->head];
  pthread_mutex_unlock (&p->mu);
  p->holding = true;
  if (c->kind != CHUNK_DATA)
    {
      p->layer_done = true;
      if (c->kind == CHUNK_END)
        release_held (p); /* an ERROR chunk stays: the reader has stopped */
      return NULL;
    }
  sha256_update (&p->diff, c->data, c->len);
  return c;
}

static la_ssize_t
archive_read_cb (struct archive *a, void *data, const void **buf)
{
  struct pipe_state *p = data;
  struct chunk *c = next_chunk (p);
  if (c == NULL)
    return 0;
  *buf = c->data;
  return (la_ssize_t) c->len;
}

static int
write_layer (struct pipe_state *p, struct writer *w, size_t i, olrun_error_t *err)
{
  p->layer_done = false;
  if (sha256_init (&p->diff, err) < 0)
    return -1;
  struct archive *a = sym_archive_read_new ();
  if (a == NULL)
    abort ();
  sym_archive_read_support_format_tar (a);
  sym_archive_read_support_format_empty (a);
  int rc = 0;
  if (sym_archive_read_open (a, p, NULL, archive_read_cb, NULL) != ARCHIVE_OK)
    rc = olrun_fail (err, 0, "layer %zu: %s", i, sym_archive_error_string (a));
  if (rc == 0)
    rc = writer_apply_layer (w, a, i, err);
  /* Hash what libarchive did not read (the end-of-archive blocks, padding). */
  while (rc == 0 && next_chunk (p) != NULL)
    ;
  sym_archive_read_free (a);
  char got[DIGEST_LEN + 1];
  sha256_final (&p->diff, got);
  sha256_free (&p->diff);
  bool reader_failed = p->holding && p->ring[p->head].kind == CHUNK_ERROR;
  if (reader_failed)
    {
      /* The writer's view ("truncated tar") is a symptom; the cause is the reader's. */
      olrun_error_release (err);
      *err = TAKE_PTR (p->reader_err);
      return -1;
    }
  if (rc == 0 && strcmp (got, p->job->layers[i].diff_id) != 0)
    rc = olrun_invalid (err, "layer %zu: uncompressed digest %s does not match rootfs.diff_ids[%zu] %s", i, got, i,
                        p->job->layers[i].diff_id);
  return rc;
}

int
unpack_layers (int rootfd, const struct unpack_job *job, uint64_t *ret_bytes, olrun_error_t *err)
{
  if (olrun_dl_load_unpack (err) < 0)
    return -1;
  struct pipe_state p = { .job = job };
  pthread_mutex_init (&p.mu, NULL);
  pthread_cond_init (&p.cv, NULL);
  for (size_t i = 0; i < N_CHUNKS; i++)
    p.ring[i].data = xmalloc (CHUNK_SIZE);
  struct writer *w = NULL;
  writer_new (rootfd, &job->limits, &w, err);
  pthread_t th;
  int rc = pthread_create (&th, NULL, reader_main, &p);
  if (rc != 0)
    {
      writer_free (w);
      for (size_t i = 0; i < N_CHUNKS; i++)
        free (p.ring[i].data);
      return olrun_fail (err, rc, "start the unpack thread");
    }
  rc = 0;
  for (size_t i = 0; rc == 0 && i < job->n_layers; i++)
    rc = write_layer (&p, w, i, err);
  if (rc == 0)
    rc = writer_finish (w, err);
  pthread_mutex_lock (&p.mu);
  p.cancel = true;
  pthread_cond_broadcast (&p.cv);
  pthread_mutex_unlock (&p.mu);
  pthread_join (th, NULL);
  /* A reader error after the writer failed first (e.g. ECANCELED) is moot. */
  olrun_error_release (&p.reader_err);
  *ret_bytes = p.total_out;
  writer_free (w);
  for (size_t i = 0; i < N_CHUNKS; i++)
    free (p.ring[i].data);
  pthread_cond_destroy (&p.cv);
  pthread_mutex_destroy (&p.mu);
  return rc;
}
