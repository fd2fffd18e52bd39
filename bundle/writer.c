/* The layer writer: applies one tar stream (already decompressed, parsed by
 * libarchive) to a rootfs, confined to it.
 *
 * Every parent directory is opened from the rootfs dirfd with openat2
 * RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV, so `..`, an
 * absolute name, or a symlink planted by an earlier entry or layer
 * (CVE-2018-15664-style tricks, umoci's CVE-2021-29136) resolves inside the
 * tree and never above it.  The last component is then created with *at()
 * calls and O_NOFOLLOW|O_EXCL relative to that parent fd, after removing
 * whatever was there, so a write never goes through a symlink.  Metadata is
 * set through the file's own fd where possible.  Hardlink targets are
 * resolved the same way, so a link to /etc/shadow names the rootfs's own. */
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include "bundle/dl.h"
#include "bundle/internal.h"
#include "olrun/log.h"
#include "olrun/syscalls.h"
#include "olrun/util.h"

/* Paths written by the current layer: an opaque whiteout hides only what
 * lower layers put in the directory, not its siblings from the same layer. */
struct strset
{
  char **slots;
  size_t cap, len;
};

static uint64_t
str_hash (const char *s)
{
  return fnv1a64 (s);
}

static void
strset_clear (struct strset *s)
{
  for (size_t i = 0; i < s->cap; i++)
    free (s->slots[i]);
  free (s->slots);
  memset (s, 0, sizeof *s);
}

static bool
strset_has (const struct strset *s, const char *k)
{
  if (s->cap == 0)
    return false;
  for (size_t i = str_hash (k) & (s->cap - 1);; i = (i + 1) & (s->cap - 1))
    {
      if (s->slots[i] == NULL)
        return false;
      if (strcmp (s->slots[i], k) == 0)
        return true;
    }
}

static void
strset_add (struct strset *s, const char *k)
{
  if ((s->len + 1) * 2 > s->cap)
    {
      struct strset n = { .cap = s->cap ? s->cap * 2 : 1024 };
      n.slots = xzalloc (n.cap * sizeof *n.slots);
      for (size_t i = 0; i < s->cap; i++)
        if (s->slots[i])
          {
            size_t j = str_hash (s->slots[i]) & (n.cap - 1);
            while (n.slots[j])
              j = (j + 1) & (n.cap - 1);
            n.slots[j] = s->slots[i];
            n.len++;
          }
      free (s->slots);
      *s = n;
    }
  size_t i = str_hash (k) & (s->cap - 1);
  for (; s->slots[i]; i = (i + 1) & (s->cap - 1))
    if (strcmp (s->slots[i], k) == 0)
      return;
  s->slots[i] = xstrdup (k);
  s->len++;
}

struct dirtime
{
  char *path;
  struct timespec mtime;
};

struct writer
{
  int rootfd;
  struct olrun_unpack_limits lim;
  uint64_t entries;
  bool root;                /* euid 0 (perhaps in a user namespace) */
  uid_t uid;
  gid_t gid;
  char *parent_path;        /* the last parent opened, and its fd */
  int parent_fd;
  struct strset layer_paths;
  struct dirtime *dirtimes;
  size_t n_dirtimes;
  uint64_t skipped_owner, skipped_dev, skipped_xattr, dropped_suid;
};

int
writer_new (int rootfd, const struct olrun_unpack_limits *lim, struct writer **ret, olrun_error_t *err)
{
  struct writer *w = xzalloc (sizeof *w);
  w->rootfd = rootfd;
  w->lim = *lim;
  w->root = geteuid () == 0;
  w->uid = geteuid ();
  w->gid = getegid ();
  w->parent_fd = -1;
  *ret = w;
  return 0;
}

void
writer_free (struct writer *w)
{
  if (w == NULL)
    return;
  free (w->parent_path);
  safe_close (w->parent_fd);
  strset_clear (&w->layer_paths);
  for (size_t i = 0; i < w->n_dirtimes; i++)
    free (w->dirtimes[i].path);
  free (w->dirtimes);
  free (w);
}

static void
forget_parent (struct writer *w)
{
  free (w->parent_path);
  w->parent_path = NULL;
  w->parent_fd = safe_close (w->parent_fd);
}

/* Lexically clean a tar path: drop "", "." and leading "/", and let ".."
 * pop a component but never climb above the root (Go's filepath.Join("/",
 * p), which is what umoci and containerd do).  "" is the root itself. */
static char *
clean_path (const char *raw)
{
  size_t n = strlen (raw);
  char *out = xmalloc (n + 1);
  size_t len = 0;
  const char *p = raw;
  while (*p)
    {
      while (*p == '/')
        p++;
      const char *e = strchrnul (p, '/');
      size_t cl = (size_t) (e - p);
      if (cl == 0 || (cl == 1 && p[0] == '.'))
        ;
      else if (cl == 2 && p[0] == '.' && p[1] == '.')
        {
          while (len > 0 && out[len - 1] != '/')
            len--;
          if (len > 0)
            len--;
        }
      else
        {
          if (len > 0)
            out[len++] = '/';
          memcpy (out + len, p, cl);
          len += cl;
        }
      p = e;
    }
  out[len] = '\0';
  return out;
}

static int
open_in_root (struct writer *w, const char *path, int flags)
{
  struct open_how how = {
    .flags = (uint64_t) (flags | O_CLOEXEC),
    .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV,
  };
  int fd;
  do
    fd = olrun_openat2 (w->rootfd, path, &how);
  while (fd < 0 && errno == EAGAIN);
  return fd;
}

/* Create the missing directories of `path`, each under its resolved parent.
 * A component that is a dangling symlink gets its target created instead
 * (inside the rootfs, as RESOLVE_IN_ROOT reads it), as umoci does. */
static int
make_parents (struct writer *w, const char *path, int depth, olrun_error_t *err)
{
  if (depth > 40)
    return olrun_fail (err, ELOOP, "create parent directory `%s`", path);
  _cleanup_free_ char *p = xstrdup (path);
  for (char *s = p;; s++)
    {
      if (*s != '/' && *s != '\0')
        continue;
      char c = *s;
      *s = '\0';
      _cleanup_close_ int fd = open_in_root (w, p, O_PATH | O_DIRECTORY);
      if (fd < 0 && errno == ENOENT)
        {
          char *slash = strrchr (p, '/');
          _cleanup_close_ int pfd = slash ? (*slash = '\0', open_in_root (w, p, O_PATH | O_DIRECTORY)) : -1;
          if (slash)
            *slash = '/';
          const char *name = slash ? slash + 1 : p;
          int at = slash ? pfd : w->rootfd;
          if (slash && pfd < 0)
            return olrun_fail (err, errno, "create parent directory `%s`", p);
          if (mkdirat (at, name, 0755) < 0 && errno != EEXIST)
            return olrun_fail (err, errno, "create parent directory `%s`", p);
          char target[PATH_MAX];
          ssize_t n = readlinkat (at, name, target, sizeof target - 1);
          if (n >= 0)
            {
              target[n] = '\0';
              _cleanup_free_ char *joined = target[0] == '/' || !slash
                                                ? xstrdup (target)
                                                : xasprintf ("%.*s/%s", (int) (slash - p), p, target);
              _cleanup_free_ char *clean = clean_path (joined);
              if (*clean && make_parents (w, clean, depth + 1, err) < 0)
                return -1;
            }
        }
      else if (fd < 0)
        return olrun_fail (err, errno, "open parent directory `%s`", p);
      *s = c;
      if (c == '\0')
        return 0;
    }
}

/* The fd of directory `path` ("" = the root); borrowed, not to be closed. */
static int
get_parent (struct writer *w, const char *path, bool create, int *ret, olrun_error_t *err)
{
  if (*path == '\0')
    {
      *ret = w->rootfd;
      return 0;
    }
  if (w->parent_path && strcmp (w->parent_path, path) == 0)
    {
      *ret = w->parent_fd;
      return 0;
    }
  forget_parent (w);
  int fd = open_in_root (w, path, O_RDONLY | O_DIRECTORY);
  if (fd < 0 && errno == ENOENT && create)
    {
      if (make_parents (w, path, 0, err) < 0)
        return -1;
      fd = open_in_root (w, path, O_RDONLY | O_DIRECTORY);
    }
  if (fd < 0)
    {
      if (errno == ENOENT && !create)
        {
          *ret = -1;
          return 0;
        }
      return olrun_fail (err, errno, "open directory `%s` in the rootfs", path);
    }
  w->parent_path = xstrdup (path);
  w->parent_fd = fd;
  *ret = fd;
  return 0;
}

/* Remove whatever is at pfd/name, descending into a directory. */
static int
remove_at (struct writer *w, int pfd, const char *name, const struct stat *st, olrun_error_t *err)
{
  if (!S_ISREG (st->st_mode))
    forget_parent (w); /* a cached parent may have been reached through it */
  if (S_ISDIR (st->st_mode))
    return olrun_rm_rf_at (pfd, name, err);
  if (unlinkat (pfd, name, 0) < 0 && errno != ENOENT)
    return olrun_fail (err, errno, "remove `%s`", name);
  return 0;
}

static int
whiteout (struct writer *w, const char *dir, const char *name, olrun_error_t *err)
{
  int pfd;
  if (get_parent (w, dir, false, &pfd, err) < 0)
    return -1;
  if (pfd < 0)
    return 0;
  struct stat st;
  if (fstatat (pfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return errno == ENOENT ? 0 : olrun_fail (err, errno, "stat `%s`", name);
  return remove_at (w, pfd, name, &st, err);
}

static int
opaque (struct writer *w, const char *dir, olrun_error_t *err)
{
  int pfd;
  if (get_parent (w, dir, false, &pfd, err) < 0)
    return -1;
  if (pfd < 0)
    return 0;
  int dfd = dup (pfd);
  DIR *d = dfd >= 0 ? fdopendir (dfd) : NULL;
  if (d == NULL)
    {
      safe_close (dfd);
      return olrun_fail (err, errno, "read directory `%s`", dir);
    }
  _cleanup_closedir_ DIR *dd = d;
  struct dirent *de;
  while ((de = readdir (d)) != NULL)
    {
      if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
        continue;
      _cleanup_free_ char *p = *dir ? xasprintf ("%s/%s", dir, de->d_name) : xstrdup (de->d_name);
      if (strset_has (&w->layer_paths, p))
        continue;
      struct stat st;
      if (fstatat (dirfd (d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        continue;
      /* remove_at may drop the cached parent; keep our own fd alive. */
      if (remove_at (w, dirfd (d), de->d_name, &st, err) < 0)
        return -1;
    }
  return 0;
}

struct meta
{
  uid_t uid;
  gid_t gid;
  mode_t perm;
  struct timespec ts[2];
};

static void
entry_meta (struct writer *w, struct archive_entry *e, struct meta *m)
{
  m->uid = (uid_t) sym_archive_entry_uid (e);
  m->gid = (gid_t) sym_archive_entry_gid (e);
  m->perm = (mode_t) sym_archive_entry_perm (e) & 07777;
  if (!w->root && (m->perm & (S_ISUID | S_ISGID)))
    {
      /* A rootless unpack cannot give the file its owner, so a setuid bit
       * would make it setuid to the unpacking user instead: drop it. */
      m->perm &= (mode_t) ~(S_ISUID | S_ISGID);
      w->dropped_suid++;
    }
  if (sym_archive_entry_mtime_is_set (e))
    {
      m->ts[1].tv_sec = sym_archive_entry_mtime (e);
      m->ts[1].tv_nsec = sym_archive_entry_mtime_nsec (e);
    }
  else
    m->ts[1].tv_nsec = UTIME_OMIT;
  m->ts[0] = m->ts[1];
}

static int
set_owner (struct writer *w, int fd, const char *name, const struct meta *m, olrun_error_t *err)
{
  if (!w->root)
    {
      if (m->uid != w->uid || m->gid != w->gid)
        w->skipped_owner++;
      return 0;
    }
  int rc = name ? fchownat (fd, name, m->uid, m->gid, AT_SYMLINK_NOFOLLOW) : fchown (fd, m->uid, m->gid);
  if (rc == 0)
    return 0;
  /* Root in a user namespace: ids outside the mapping give EINVAL. */
  if (errno == EINVAL || errno == EPERM)
    {
      w->skipped_owner++;
      return 0;
    }
  return olrun_fail (err, errno, "chown %u:%u", (unsigned) m->uid, (unsigned) m->gid);
}

static void
set_xattrs (struct writer *w, struct archive_entry *e, int fd, const char *proc_path)
{
  const char *name;
  const void *value;
  size_t size;
  sym_archive_entry_xattr_reset (e);
  while (sym_archive_entry_xattr_next (e, &name, &value, &size) == ARCHIVE_OK)
    {
      int rc = proc_path ? lsetxattr (proc_path, name, value, size, 0) : fsetxattr (fd, name, value, size, 0);
      if (rc < 0)
        {
          olrun_debug ("xattr `%s` not set: %s", name, strerror (errno));
          w->skipped_xattr++;
        }
    }
}

/* Owner, then mode (chown clears setuid), then xattrs (chown also clears
 * security.capability), then times: all through the open fd. */
static int
set_meta_fd (struct writer *w, struct archive_entry *e, int fd, const struct meta *m, olrun_error_t *err)
{
  if (set_owner (w, fd, NULL, m, err) < 0)
    return -1;
  if (fchmod (fd, m->perm) < 0)
    return olrun_fail (err, errno, "chmod");
  set_xattrs (w, e, fd, NULL);
  if (futimens (fd, m->ts) < 0)
    return olrun_fail (err, errno, "set times");
  return 0;
}

/* For symlinks and nodes, which have no fd we can write through. */
static int
set_meta_at (struct writer *w, struct archive_entry *e, int pfd, const char *name, const struct meta *m,
             bool is_link, olrun_error_t *err)
{
  if (set_owner (w, pfd, name, m, err) < 0)
    return -1;
  if (!is_link && fchmodat (pfd, name, m->perm, 0) < 0)
    return olrun_fail (err, errno, "chmod");
  _cleanup_free_ char *proc = xasprintf ("/proc/self/fd/%d/%s", pfd, name);
  set_xattrs (w, e, -1, proc);
  if (utimensat (pfd, name, m->ts, AT_SYMLINK_NOFOLLOW) < 0)
    return olrun_fail (err, errno, "set times");
  return 0;
}

static int
write_data (struct archive *a, int fd, struct archive_entry *e, olrun_error_t *err)
{
  const void *buf;
  size_t size;
  la_int64_t off;
  int64_t end = 0;
  for (;;)
    {
      int r = sym_archive_read_data_block (a, &buf, &size, &off);
      if (r == ARCHIVE_EOF)
        break;
      if (r < ARCHIVE_WARN)
        return olrun_fail (err, 0, "read: %s", sym_archive_error_string (a));
      /* pwrite at the block's offset: sparse entries leave holes. */
      const char *p = buf;
      while (size > 0)
        {
          ssize_t n = pwrite (fd, p, size, off);
          if (n < 0 && errno == EINTR)
            continue;
          if (n < 0)
            return olrun_fail (err, errno, "write");
          p += n;
          size -= (size_t) n;
          off += n;
        }
      if (off > end)
        end = off;
    }
  int64_t want = sym_archive_entry_size (e);
  if (want > end && ftruncate (fd, want) < 0)
    return olrun_fail (err, errno, "truncate");
  return 0;
}

static int
make_hardlink (struct writer *w, int pfd, const char *name, const char *target_raw, olrun_error_t *err)
{
  _cleanup_free_ char *target = clean_path (target_raw);
  if (*target == '\0')
    return olrun_invalid (err, "hardlink to the root directory");
  _cleanup_close_ int tfd = open_in_root (w, target, O_PATH | O_NOFOLLOW);
  if (tfd < 0)
    return olrun_fail (err, errno, "hardlink target `%s` in the rootfs", target);
  struct stat st;
  if (fstat (tfd, &st) < 0 || S_ISDIR (st.st_mode))
    return olrun_invalid (err, "hardlink target `%s` is a directory", target);
  if (linkat (tfd, "", pfd, name, AT_EMPTY_PATH) == 0)
    return 0;
  /* AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH; rootless goes through the
   * fd's /proc entry, which names the same inode. */
  if (errno != ENOENT && errno != EPERM)
    return olrun_fail (err, errno, "hardlink to `%s`", target);
  _cleanup_free_ char *proc = xasprintf ("/proc/self/fd/%d", tfd);
  if (linkat (AT_FDCWD, proc, pfd, name, AT_SYMLINK_FOLLOW) < 0)
    return olrun_fail (err, errno, "hardlink to `%s`", target);
  return 0;
}

static int
make_node (struct writer *w, struct archive_entry *e, int pfd, const char *name, mode_t type, bool *skipped,
           olrun_error_t *err)
{
  dev_t dev = makedev (sym_archive_entry_rdevmajor (e), sym_archive_entry_rdevminor (e));
  if (type != S_IFIFO && !w->root)
    {
      w->skipped_dev++;
      *skipped = true;
      return 0;
    }
  if (mknodat (pfd, name, type | 0600, type == S_IFIFO ? 0 : dev) == 0)
    return 0;
  if (errno == EPERM && type != S_IFIFO)
    {
      /* Root in a user namespace may not create devices. */
      w->skipped_dev++;
      *skipped = true;
      return 0;
    }
  return olrun_fail (err, errno, "mknod");
}

static int
apply_dir (struct writer *w, struct archive_entry *e, int pfd, const char *name, const char *path,
           const struct meta *m, bool exists, olrun_error_t *err)
{
  if (!exists && mkdirat (pfd, name, 0700) < 0)
    return olrun_fail (err, errno, "mkdir");
  _cleanup_close_ int fd = openat (pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return olrun_fail (err, errno, "open directory");
  if (set_meta_fd (w, e, fd, m, err) < 0)
    return -1;
  /* Entries written into it later change its mtime: set it again at the end. */
  w->dirtimes = xreallocarray (w->dirtimes, w->n_dirtimes + 1, sizeof *w->dirtimes);
  w->dirtimes[w->n_dirtimes++] = (struct dirtime){ xstrdup (path), m->ts[1] };
  return 0;
}

static int
apply_file (struct writer *w, struct archive *a, struct archive_entry *e, int pfd, const char *name,
            const struct meta *m, olrun_error_t *err)
{
  _cleanup_close_ int fd = openat (pfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0)
    return olrun_fail (err, errno, "create");
  if (write_data (a, fd, e, err) < 0)
    return -1;
  return set_meta_fd (w, e, fd, m, err);
}

static int
apply_root (struct writer *w, struct archive_entry *e, olrun_error_t *err)
{
  if (sym_archive_entry_filetype (e) != AE_IFDIR)
    {
      /* The type of / is never changed (OCI image-spec, layer changesets). */
      olrun_warn ("ignoring a layer entry that would make / a non-directory");
      return 0;
    }
  struct meta m;
  entry_meta (w, e, &m);
  return set_meta_fd (w, e, w->rootfd, &m, err);
}

static int
apply_entry (struct writer *w, struct archive *a, struct archive_entry *e, const char *path, olrun_error_t *err)
{
  char *slash = strrchr (path, '/');
  _cleanup_free_ char *dir = slash ? xstrndup (path, (size_t) (slash - path)) : xstrdup ("");
  const char *name = slash ? slash + 1 : path;

  if (strncmp (name, ".wh.", 4) == 0)
    {
      if (strcmp (name, ".wh..wh..opq") == 0)
        return opaque (w, dir, err);
      if (strncmp (name, ".wh..wh.", 8) == 0)
        return 0; /* aufs bookkeeping (.wh..wh.plnk, ...): nothing to apply */
      const char *victim = name + 4;
      if (*victim == '\0' || strcmp (victim, ".") == 0 || strcmp (victim, "..") == 0)
        return olrun_invalid (err, "whiteout `%s` names no entry", name);
      return whiteout (w, dir, victim, err);
    }

  strset_add (&w->layer_paths, path);
  int pfd;
  if (get_parent (w, dir, true, &pfd, err) < 0)
    return -1;
  const char *hardlink = sym_archive_entry_hardlink (e);
  mode_t type = hardlink ? S_IFREG : (mode_t) sym_archive_entry_filetype (e);
  struct meta m;
  entry_meta (w, e, &m);

  struct stat st;
  bool exists = fstatat (pfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
  if (exists && !(S_ISDIR (st.st_mode) && type == S_IFDIR && !hardlink))
    {
      if (remove_at (w, pfd, name, &st, err) < 0)
        return -1;
      if (get_parent (w, dir, true, &pfd, err) < 0)
        return -1;
      exists = false;
    }

  if (hardlink)
    return make_hardlink (w, pfd, name, hardlink, err);
  switch (type)
    {
    case S_IFDIR:
      return apply_dir (w, e, pfd, name, path, &m, exists, err);
    case S_IFREG:
      return apply_file (w, a, e, pfd, name, &m, err);
    case S_IFLNK:
      if (symlinkat (sym_archive_entry_symlink (e), pfd, name) < 0)
        return olrun_fail (err, errno, "symlink");
      return set_meta_at (w, e, pfd, name, &m, true, err);
    case S_IFCHR:
    case S_IFBLK:
    case S_IFIFO:
      {
        bool skipped = false;
        if (make_node (w, e, pfd, name, type, &skipped, err) < 0)
          return -1;
        return skipped ? 0 : set_meta_at (w, e, pfd, name, &m, false, err);
      }
    default:
      olrun_warn ("skipping `%s`: unsupported file type 0%o", path, (unsigned) type);
      return 0;
    }
}

int
writer_apply_layer (struct writer *w, void *archive, size_t layer, olrun_error_t *err)
{
  struct archive *a = archive;
  struct archive_entry *e;
  strset_clear (&w->layer_paths);
  for (;;)
    {
      int r = sym_archive_read_next_header (a, &e);
      if (r == ARCHIVE_EOF)
        return 0;
      if (r < ARCHIVE_WARN)
        return olrun_fail (err, 0, "layer %zu: %s", layer, sym_archive_error_string (a));
      const char *raw = sym_archive_entry_pathname (e);
      if (raw == NULL)
        return olrun_invalid (err, "layer %zu: an entry has no path", layer);
      if (++w->entries > w->lim.max_entries)
        return olrun_invalid (err, "layer %zu: more than %llu entries (the --max-entries limit)", layer,
                              (unsigned long long) w->lim.max_entries);
      if (strlen (raw) > w->lim.max_path)
        return olrun_invalid (err, "layer %zu: an entry's path is longer than %llu bytes (the limit)", layer,
                              (unsigned long long) w->lim.max_path);
      _cleanup_free_ char *path = clean_path (raw);
      int rc = *path == '\0' ? apply_root (w, e, err) : apply_entry (w, a, e, path, err);
      if (rc < 0)
        return olrun_error_wrap (err, "layer %zu: `%s`", layer, raw);
    }
}

int
writer_finish (struct writer *w, olrun_error_t *err)
{
  forget_parent (w);
  for (size_t i = 0; i < w->n_dirtimes; i++)
    {
      /* A later layer may have removed or replaced it: skip quietly. */
      _cleanup_close_ int fd = open_in_root (w, w->dirtimes[i].path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
      struct timespec ts[2] = { w->dirtimes[i].mtime, w->dirtimes[i].mtime };
      if (fd >= 0 && futimens (fd, ts) < 0)
        return olrun_fail (err, errno, "set times of `%s`", w->dirtimes[i].path);
    }
  if (w->skipped_owner)
    olrun_warn ("%llu entries keep the unpacking user's ownership: other ids are not mapped (unpack as root or "
                "in a user namespace with subordinate ids)", (unsigned long long) w->skipped_owner);
  if (w->skipped_dev)
    olrun_warn ("%llu device nodes skipped: creating devices needs root", (unsigned long long) w->skipped_dev);
  if (w->dropped_suid)
    olrun_warn ("%llu setuid/setgid bits dropped (rootless unpack)", (unsigned long long) w->dropped_suid);
  if (w->skipped_xattr)
    olrun_warn ("%llu extended attributes could not be set", (unsigned long long) w->skipped_xattr);
  return 0;
}
