/* The compiled-BPF cache: one file per profile.
 *
 * Trust: a BPF program read from here is loaded into containers, so a
 * writable cache would be a way to switch their filter off.  The directory
 * must be ours and writable by nobody else, and every entry a regular file
 * of ours that nobody else may write.
 *
 * Which entry: an entry stores the exact profile text it was compiled from
 * and the build identity (libseccomp version, kernel, architecture), and a
 * load compares both byte for byte with the caller's.  So the file name is
 * only a fast 64-bit hash: two profiles that collide on it (by accident or
 * on purpose) just evict each other, and no profile can ever be given
 * another's program.  This is cheaper than a cryptographic key: hashing
 * podman's 16 KiB profile with SHA-256 cost more than the rest of a cached
 * load together.
 *
 * Robustness: the instructions carry a checksum; a short, torn, foreign or
 * corrupt entry is ignored (the filter is compiled and the entry replaced).
 * Writes go to a temp file renamed into place, so a reader never sees half
 * an entry; they are not synced, since a torn one is just rebuilt. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "olrun/log.h"
#include "olrun/util.h"
#include "seccomp/seccomp_internal.h"

#define MAGIC "OLRNBPF2"
#define MAGIC_LEN 8

struct header
{
  char magic[MAGIC_LEN];
  uint32_t id_len, text_len, n_insns, reserved;
  uint64_t check;               /* hash64 of the instructions */
};

/* Entries are bounded by what a profile can be: the kernel takes at most
 * BPF_MAXINSNS instructions, and no real profile text nears 4 MiB. */
#define MAX_TEXT (4u << 20)
/* Past this many entries, the older half goes: the cache only saves time. */
#define MAX_ENTRIES 128
#define NAME_LEN (16 + 4)       /* hex of 64 bits, ".bpf" */

/* A 64-bit hash, 8 bytes a step with a murmur-style finish.  Not
 * cryptographic, and it need not be (see above). */
uint64_t
olrun_seccomp_hash64 (uint64_t h, const void *data, size_t len)
{
  const uint64_t k1 = 0x9e3779b97f4a7c15ULL, k2 = 0xc2b2ae3d27d4eb4fULL;
  const unsigned char *p = data;
  h ^= len * k1;
  for (; len >= 8; p += 8, len -= 8)
    {
      uint64_t w;
      memcpy (&w, p, 8);
      h ^= w * k2;
      h = ((h << 31) | (h >> 33)) * k1;
    }
  uint64_t tail = 0;
  memcpy (&tail, p, len);
  h ^= tail * k2;
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  return h ^ (h >> 33);
}

static void
entry_name (const struct olrun_seccomp_cache_key *k, char name[NAME_LEN + 1])
{
  uint64_t h = olrun_seccomp_hash64 (olrun_seccomp_hash64 (0, k->id, k->id_len), k->text, k->text_len);
  snprintf (name, NAME_LEN + 1, "%016llx.bpf", (unsigned long long) h);
}

static bool
trusted (const struct stat *st)
{
  return st->st_uid == geteuid () && (st->st_mode & (S_IWGRP | S_IWOTH)) == 0;
}

int
olrun_seccomp_cache_open (const char *path)
{
  int flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
  _cleanup_close_ int fd = open (path, flags);
  if (fd < 0 && errno == ENOENT)
    {
      _cleanup_error_ olrun_error_t err = NULL;
      if (olrun_mkdir_p_at (AT_FDCWD, path, 0700, &err) < 0)
        {
          olrun_debug ("seccomp cache: %s", err->msg);
          return -1;
        }
      fd = open (path, flags);
    }
  struct stat st;
  if (fd < 0 || fstat (fd, &st) < 0)
    {
      olrun_debug ("seccomp cache: open `%s`: %s", path, strerror (errno));
      return -1;
    }
  if (!trusted (&st))
    {
      olrun_debug ("seccomp cache: not using `%s`: owned by uid %u or writable by others", path, (unsigned) st.st_uid);
      return -1;
    }
  return TAKE_FD (fd);
}

/* Check a whole entry read into buf against the key; fills p. */
static bool
parse_entry (const char *buf, size_t size, const struct olrun_seccomp_cache_key *k, struct olrun_seccomp_program *p)
{
  struct header h;
  if (size < sizeof h)
    return false;
  memcpy (&h, buf, sizeof h);
  size_t body = (size_t) h.n_insns * sizeof (struct sock_filter);
  if (memcmp (h.magic, MAGIC, MAGIC_LEN) != 0 || h.id_len != k->id_len || h.text_len != k->text_len
      || h.n_insns == 0 || h.n_insns > BPF_MAXINSNS || size != sizeof h + h.id_len + h.text_len + body)
    return false;
  const char *id = buf + sizeof h, *text = id + h.id_len, *insns = text + h.text_len;
  if (memcmp (id, k->id, k->id_len) != 0 || memcmp (text, k->text, k->text_len) != 0
      || olrun_seccomp_hash64 (0, insns, body) != h.check)
    return false;
  p->len = h.n_insns;
  p->insns = xmalloc (body);
  memcpy (p->insns, insns, body);
  return true;
}

struct olrun_seccomp_program *
olrun_seccomp_cache_load (int dirfd, const struct olrun_seccomp_cache_key *k)
{
  char name[NAME_LEN + 1];
  entry_name (k, name);
  _cleanup_close_ int fd = openat (dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0)
    {
      if (errno != ENOENT)
        olrun_debug ("seccomp cache: open `%s`: %s", name, strerror (errno));
      return NULL;
    }
  struct stat st;
  size_t max = sizeof (struct header) + k->id_len + k->text_len + BPF_MAXINSNS * sizeof (struct sock_filter);
  if (fstat (fd, &st) < 0 || !S_ISREG (st.st_mode) || !trusted (&st) || (size_t) st.st_size > max)
    {
      olrun_debug ("seccomp cache: ignoring `%s`: not a regular file of ours, or too big", name);
      return NULL;
    }
  size_t size = (size_t) st.st_size;
  _cleanup_free_ char *buf = xmalloc (size ? size : 1);
  _cleanup_seccomp_program_ struct olrun_seccomp_program *p = xzalloc (sizeof *p);
  if (olrun_read_all (fd, buf, size) != (ssize_t) size || !parse_entry (buf, size, k, p))
    {
      /* Corrupt, or another profile with the same name hash. */
      olrun_debug ("seccomp cache: `%s` is not this profile's; compiling", name);
      return NULL;
    }
  p->from_cache = true;
  return TAKE_PTR (p);
}

struct dated
{
  char name[NAME_LEN + 1];
  struct timespec mtime;
};

static int
older_first (const void *a, const void *b)
{
  const struct timespec *x = &((const struct dated *) a)->mtime, *y = &((const struct dated *) b)->mtime;
  if (x->tv_sec != y->tv_sec)
    return x->tv_sec < y->tv_sec ? -1 : 1;
  return (x->tv_nsec > y->tv_nsec) - (x->tv_nsec < y->tv_nsec);
}

/* Keep the directory bounded: past MAX_ENTRIES, drop the older half. */
static void
evict (int dirfd)
{
  int dfd = openat (dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  _cleanup_closedir_ DIR *d = dfd >= 0 ? fdopendir (dfd) : NULL;
  if (d == NULL)
    {
      safe_close (dfd);
      return;
    }
  _cleanup_free_ struct dated *v = NULL;
  size_t n = 0;
  struct dirent *de;
  while ((de = readdir (d)) != NULL)
    {
      struct stat st;
      size_t len = strlen (de->d_name);
      if (len != NAME_LEN || strcmp (de->d_name + len - 4, ".bpf") != 0
          || fstatat (dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        continue;
      v = xreallocarray (v, n + 1, sizeof *v);
      memcpy (v[n].name, de->d_name, len + 1);
      v[n++].mtime = st.st_mtim;
    }
  if (n <= MAX_ENTRIES)
    return;
  qsort (v, n, sizeof *v, older_first);
  for (size_t i = 0; i < n / 2; i++)
    unlinkat (dirfd, v[i].name, 0);
}

int
olrun_seccomp_cache_store (int dirfd, const struct olrun_seccomp_cache_key *k, const struct olrun_seccomp_program *p,
                           olrun_error_t *err)
{
  if (k->id_len > MAX_TEXT || k->text_len > MAX_TEXT)
    return olrun_fail (err, EFBIG, "seccomp cache: profile of %zu bytes", k->text_len);
  size_t body = p->len * sizeof *p->insns;
  struct header h = { .id_len = (uint32_t) k->id_len, .text_len = (uint32_t) k->text_len,
                      .n_insns = (uint32_t) p->len, .check = olrun_seccomp_hash64 (0, p->insns, body) };
  memcpy (h.magic, MAGIC, MAGIC_LEN);
  struct olrun_buf b = { 0 };
  olrun_buf_append (&b, &h, sizeof h);
  olrun_buf_append (&b, k->id, k->id_len);
  olrun_buf_append (&b, k->text, k->text_len);
  olrun_buf_append (&b, p->insns, body);
  char name[NAME_LEN + 1];
  entry_name (k, name);
  /* No fsync: a torn entry fails its checks and is rebuilt, and syncing
   * would cost the first container of each profile tens of ms. */
  int rc = olrun_atomic_write_nosync_at (dirfd, name, b.data, b.len, 0600, err);
  olrun_buf_free (&b);
  if (rc < 0)
    return -1;
  evict (dirfd);
  return 0;
}
