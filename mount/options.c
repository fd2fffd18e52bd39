/* Mount options: the words of mounts[].options turned into mount(2) flags,
 * propagation, recursive mount_setattr attributes and filesystem data. */
#include <string.h>
#include <sys/mount.h>

#include "mount/internal.h"
#include "olrun/mount.h"
#include "olrun/syscalls.h"
#include "olrun/util.h"

struct flag_option
{
  const char *name;
  bool clear;            /* the option turns the flag off */
  unsigned long flag;
};

static const struct flag_option flag_options[] = {
  { "defaults", false, 0 },
  { "ro", false, MS_RDONLY },          { "rw", true, MS_RDONLY },
  { "nosuid", false, MS_NOSUID },      { "suid", true, MS_NOSUID },
  { "nodev", false, MS_NODEV },        { "dev", true, MS_NODEV },
  { "noexec", false, MS_NOEXEC },      { "exec", true, MS_NOEXEC },
  { "sync", false, MS_SYNCHRONOUS },   { "async", true, MS_SYNCHRONOUS },
  { "dirsync", false, MS_DIRSYNC },
  { "remount", false, MS_REMOUNT },
  { "mand", false, MS_MANDLOCK },      { "nomand", true, MS_MANDLOCK },
  { "noatime", false, MS_NOATIME },    { "atime", true, MS_NOATIME },
  { "nodiratime", false, MS_NODIRATIME }, { "diratime", true, MS_NODIRATIME },
  { "relatime", false, MS_RELATIME },  { "norelatime", true, MS_RELATIME },
  { "strictatime", false, MS_STRICTATIME }, { "nostrictatime", true, MS_STRICTATIME },
  { "iversion", false, MS_I_VERSION }, { "noiversion", true, MS_I_VERSION },
  { "lazytime", false, MS_LAZYTIME },  { "nolazytime", true, MS_LAZYTIME },
  { "silent", false, MS_SILENT },      { "loud", true, MS_SILENT },
  { "nosymfollow", false, 0x100 /* MS_NOSYMFOLLOW */ },
};

static const struct
{
  const char *name;
  unsigned long flags;
} propagation_options[] = {
  { "private", MS_PRIVATE },      { "rprivate", MS_PRIVATE | MS_REC },
  { "shared", MS_SHARED },        { "rshared", MS_SHARED | MS_REC },
  { "slave", MS_SLAVE },          { "rslave", MS_SLAVE | MS_REC },
  { "unbindable", MS_UNBINDABLE }, { "runbindable", MS_UNBINDABLE | MS_REC },
};

/* Recursive attributes (runtime-spec 1.1), applied with mount_setattr
 * AT_RECURSIVE.  The atime ones are a field, not bits: set clears the rest. */
static const struct
{
  const char *name;
  bool clear;
  uint64_t attr;
} recursive_options[] = {
  { "rro", false, MOUNT_ATTR_RDONLY },       { "rrw", true, MOUNT_ATTR_RDONLY },
  { "rnosuid", false, MOUNT_ATTR_NOSUID },   { "rsuid", true, MOUNT_ATTR_NOSUID },
  { "rnodev", false, MOUNT_ATTR_NODEV },     { "rdev", true, MOUNT_ATTR_NODEV },
  { "rnoexec", false, MOUNT_ATTR_NOEXEC },   { "rexec", true, MOUNT_ATTR_NOEXEC },
  { "rnodiratime", false, MOUNT_ATTR_NODIRATIME }, { "rdiratime", true, MOUNT_ATTR_NODIRATIME },
  { "rnosymfollow", false, MOUNT_ATTR_NOSYMFOLLOW }, { "rsymfollow", true, MOUNT_ATTR_NOSYMFOLLOW },
  { "rrelatime", false, OLRUN_ATTR_RELATIME }, { "rnorelatime", true, OLRUN_ATTR_RELATIME },
  { "rnoatime", false, MOUNT_ATTR_NOATIME },  { "ratime", true, MOUNT_ATTR_NOATIME },
  { "rstrictatime", false, MOUNT_ATTR_STRICTATIME }, { "rnostrictatime", true, MOUNT_ATTR_STRICTATIME },
};

/* Extensions of the option list that are not mount(2) flags. */
static const char *const extension_options[] = { "bind", "rbind", "tmpcopyup", "idmap", "ridmap" };

const char *
olrun_mount_option_name (size_t i)
{
  if (i < ARRAY_SIZE (flag_options))
    return flag_options[i].name;
  i -= ARRAY_SIZE (flag_options);
  if (i < ARRAY_SIZE (propagation_options))
    return propagation_options[i].name;
  i -= ARRAY_SIZE (propagation_options);
  if (i < ARRAY_SIZE (recursive_options))
    return recursive_options[i].name;
  i -= ARRAY_SIZE (recursive_options);
  return i < ARRAY_SIZE (extension_options) ? extension_options[i] : NULL;
}

long
olrun_mount_propagation_flags (const char *name)
{
  for (size_t i = 0; i < ARRAY_SIZE (propagation_options); i++)
    if (strcmp (name, propagation_options[i].name) == 0)
      return (long) propagation_options[i].flags;
  return -1;
}

static bool
match_flag (struct olrun_mount *m, const char *o)
{
  for (size_t i = 0; i < ARRAY_SIZE (flag_options); i++)
    {
      if (strcmp (o, flag_options[i].name) != 0)
        continue;
      if (flag_options[i].clear)
        {
          m->flags &= ~flag_options[i].flag;
          m->clear |= flag_options[i].flag;
        }
      else
        {
          m->flags |= flag_options[i].flag;
          m->clear &= ~flag_options[i].flag;
        }
      return true;
    }
  return false;
}

static bool
match_recursive (struct olrun_mount *m, const char *o)
{
  for (size_t i = 0; i < ARRAY_SIZE (recursive_options); i++)
    {
      if (strcmp (o, recursive_options[i].name) != 0)
        continue;
      if (recursive_options[i].clear)
        {
          m->attr_clr |= recursive_options[i].attr;
          m->attr_set &= ~recursive_options[i].attr;
        }
      else
        {
          m->attr_set |= recursive_options[i].attr;
          m->attr_clr &= ~recursive_options[i].attr;
        }
      return true;
    }
  return false;
}

static bool
match_extension (struct olrun_mount *m, const char *o)
{
  if (strcmp (o, "bind") == 0 || strcmp (o, "rbind") == 0)
    {
      m->bind = true;
      m->recursive = m->recursive || o[0] == 'r';
      return true;
    }
  if (strcmp (o, "idmap") == 0 || strcmp (o, "ridmap") == 0)
    {
      m->idmap = true;
      m->ridmap = m->ridmap || o[0] == 'r';
      return true;
    }
  if (strcmp (o, "tmpcopyup") == 0)
    {
      m->tmpcopyup = true;
      return true;
    }
  return false;
}

int
olrun_mount_parse_options (struct olrun_mount *m, const char **bad)
{
  struct olrun_buf data = { 0 };
  m->bind = m->type && strcmp (m->type, "bind") == 0;
  for (char **o = m->options; o && *o; o++)
    {
      long prop = olrun_mount_propagation_flags (*o);
      if (prop >= 0)
        m->propagation = (unsigned long) prop;
      else if (!match_flag (m, *o) && !match_recursive (m, *o) && !match_extension (m, *o))
        {
          /* Anything else is the filesystem's business (size=, mode=, gid=,
           * newinstance), and the kernel checks it when mounting. */
          if (data.len)
            olrun_buf_puts (&data, ",");
          olrun_buf_puts (&data, *o);
          *bad = *o;
        }
    }
  free (m->data);
  m->data = data.len ? olrun_buf_steal (&data) : NULL;
  olrun_buf_free (&data);
  /* A bind mount has no filesystem to take data.  key=value options are
   * what configs carry over from tmpfs mounts (the OCI suite adds mode=
   * and size= to binds): ignored, as mount(2) ignores them.  A bare word
   * we do not know is a typo of a flag, and is refused. */
  if (m->bind && m->data)
    {
      _cleanup_free_ char *copy = xstrdup (m->data);
      char *save = NULL;
      for (char *w = strtok_r (copy, ",", &save); w; w = strtok_r (NULL, ",", &save))
        if (strchr (w, '=') == NULL)
          {
            for (char **o = m->options; o && *o; o++)
              if (strcmp (*o, w) == 0)
                *bad = *o;
            return -1;
          }
      free (m->data);
      m->data = NULL;
    }
  if (m->tmpcopyup && (m->type == NULL || strcmp (m->type, "tmpfs") != 0))
    {
      *bad = "tmpcopyup";
      return -1;
    }
  return 0;
}

void
olrun_mount_clear (struct olrun_mount *m)
{
  free (m->destination);
  free (m->source);
  free (m->type);
  strv_free (m->options);
  free (m->data);
  olrun_idmaps_free (&m->uid_mappings);
  olrun_idmaps_free (&m->gid_mappings);
  memset (m, 0, sizeof *m);
}

void
olrun_device_clear (struct olrun_device *d)
{
  free (d->path);
  memset (d, 0, sizeof *d);
}
