/* CVE-2019-5736: a container must never reach a writable olrun binary.
 *
 * While the container's init (or an exec'd process) still runs olrun's
 * code, /proc/PID/exe of it is the olrun binary on the host's mount.  A
 * process of the container that opens it (with CAP_SYS_PTRACE, or by
 * making the init execve /proc/self/exe through args, a symlink, a "#!"
 * line or PT_INTERP) holds the host's binary, and can write it once olrun
 * has exited.  runc and crun re-execute themselves from a sealed copy;
 * DESIGN.md forbids that on the hot path (it pays for process start and
 * dynamic loading twice).
 *
 * Instead the process points its own exe link at the same file seen
 * through a detached, read-only bind mount: open_tree(OPEN_TREE_CLONE) of
 * the binary, MOUNT_ATTR_RDONLY, then prctl(PR_SET_MM_MAP) with exe_fd.
 * Whatever reaches the binary through /proc from then on (including a
 * new execve of /proc/self/exe, which inherits the link's mount) gets
 * EROFS on open for writing.  The kernel only swaps the link when no
 * mapping of the old path is left, so the binary's own segments are moved
 * first: read-only ones are mapped again from the read-only mount (the
 * same page cache, so the code under our feet does not change), written
 * ones (data, bss, RELRO) are copied into anonymous memory.  Nothing is
 * executed again; the cost is a few syscalls (bench/security.sh). */
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <linux/prctl.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include "olrun/syscalls.h"
#include "olrun/util.h"
#include "runtime/internal.h"

/* A detached read-only bind mount of our own binary, opened for reading
 * (mmap and PR_SET_MM_MAP need a real file, not O_PATH).  open_tree only
 * clones mounts of the caller's mount namespace, and the exe link names
 * the namespace olrun started in, so the binary is looked up again by
 * its path here and must turn out to be the very same file. */
static int
open_readonly_self (int *ret_fd, int *ret_tree, olrun_error_t *err)
{
  char exe[4096];
  ssize_t n = readlink ("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0)
    return olrun_fail (err, errno, "readlink /proc/self/exe");
  exe[n] = '\0';
  struct stat want, got;
  if (stat ("/proc/self/exe", &want) < 0)
    return olrun_fail (err, errno, "stat /proc/self/exe");
  _cleanup_close_ int tree = olrun_open_tree (AT_FDCWD, exe, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
  if (tree < 0 || fstat (tree, &got) < 0)
    return olrun_fail (err, errno, "clone the mount of the olrun binary `%s`", exe);
  if (got.st_dev != want.st_dev || got.st_ino != want.st_ino)
    return olrun_fail (err, ESTALE, "the olrun binary `%s` was replaced while running", exe);
  struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV };
  if (olrun_mount_setattr (tree, "", AT_EMPTY_PATH, &attr) < 0)
    return olrun_fail (err, errno, "make the olrun binary's mount read-only");
  char path[64];
  snprintf (path, sizeof path, "/proc/self/fd/%d", tree);
  int fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return olrun_fail (err, errno, "open the read-only olrun binary");
  *ret_fd = fd;
  /* Closing the last fd of a detached tree dissolves it, which waits for
   * an RCU grace period: the caller does it when nobody waits for it. */
  *ret_tree = TAKE_FD (tree);
  return 0;
}

static int
elf_prot (uint32_t flags)
{
  return ((flags & PF_R) ? PROT_READ : 0) | ((flags & PF_W) ? PROT_WRITE : 0) | ((flags & PF_X) ? PROT_EXEC : 0);
}

/* Replace [start, end) with anonymous memory holding the same bytes.  No
 * data or bss of ours is written between the copy and the mremap (this
 * process is single-threaded here, and only the stack is used). */
static int
copy_to_anon (uintptr_t start, uintptr_t end, int prot, olrun_error_t *err)
{
  size_t len = end - start;
  void *tmp = mmap (NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (tmp == MAP_FAILED)
    return olrun_fail (err, errno, "mmap");
  /* The kernel copies, not memcpy: sanitizers would see the copy run
   * across the redzones between globals. */
  struct iovec local = { tmp, len }, remote = { (void *) start, len };
  if (process_vm_readv (getpid (), &local, 1, &remote, 1, 0) != (ssize_t) len)
    {
      int e = errno;
      munmap (tmp, len);
      return olrun_fail (err, e, "copy the olrun binary's data");
    }
  if (mprotect (tmp, len, prot) < 0 || mremap (tmp, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, (void *) start) == MAP_FAILED)
    {
      int e = errno;
      munmap (tmp, len);
      return olrun_fail (err, e, "move the olrun binary's data");
    }
  return 0;
}

static int
main_base (struct dl_phdr_info *info, size_t size, void *data)
{
  *(uintptr_t *) data = info->dlpi_addr;
  return 1;
}

/* Move every segment of the main program off the binary's original mount. */
static int
remap_segments (int fd, olrun_error_t *err)
{
  const ElfW (Phdr) *ph = (const ElfW (Phdr) *) getauxval (AT_PHDR);
  size_t n = getauxval (AT_PHNUM);
  uintptr_t page = (uintptr_t) sysconf (_SC_PAGESIZE);
  uintptr_t base = 0, relro_start = 0, relro_end = 0;
  /* The load address: the first object dl_iterate_phdr reports is the
   * main program (a static-pie has no PT_PHDR to derive it from). */
  dl_iterate_phdr (main_base, &base);
  for (size_t i = 0; i < n; i++)
    if (ph[i].p_type == PT_GNU_RELRO)
      {
        relro_start = (base + ph[i].p_vaddr) & ~(page - 1);
        relro_end = (base + ph[i].p_vaddr + ph[i].p_memsz) & ~(page - 1);
      }
  for (size_t i = 0; i < n; i++)
    {
      if (ph[i].p_type != PT_LOAD)
        continue;
      uintptr_t start = (base + ph[i].p_vaddr) & ~(page - 1);
      uintptr_t end = (base + ph[i].p_vaddr + ph[i].p_memsz + page - 1) & ~(page - 1);
      off_t off = (off_t) (ph[i].p_offset & ~(page - 1));
      if (!(ph[i].p_flags & PF_W))
        {
          /* Never written: the file's bytes, now through the read-only
           * mount.  Populated at once: faulting the code back in page by
           * page as the init runs on costs more. */
          if (mmap ((void *) start, end - start, elf_prot (ph[i].p_flags),
                    MAP_PRIVATE | MAP_FIXED | MAP_POPULATE, fd, off)
              == MAP_FAILED)
            return olrun_fail (err, errno, "map the olrun binary read-only");
          continue;
        }
      /* The writable segment starts with RELRO, read-only since
       * relocation: moved in one piece (each change of the address space
       * costs), then made read-only again. */
      uintptr_t split = relro_end > start && relro_end <= end && relro_start <= start ? relro_end : start;
      if (copy_to_anon (start, end, PROT_READ | PROT_WRITE, err) < 0)
        return -1;
      if (split > start && mprotect ((void *) start, split - start, PROT_READ) < 0)
        return olrun_fail (err, errno, "make the olrun binary's RELRO read-only");
    }
  return 0;
}

/* The process's memory layout as the kernel has it, so PR_SET_MM_MAP only
 * changes the exe link.  Read in the parent: clone copies the layout, and
 * a fresh child's /proc entries are slow to build. */
static int
current_mm_map (struct prctl_mm_map *m, olrun_error_t *err)
{
  _cleanup_close_ int fd = open ("/proc/self/stat", O_RDONLY | O_CLOEXEC);
  char buf[1024];
  ssize_t len = fd < 0 ? -1 : olrun_read_all (fd, buf, sizeof buf - 1);
  if (len <= 0)
    return olrun_fail (err, errno, "read /proc/self/stat");
  buf[len] = '\0';
  /* Fields count from the one after the command's closing parenthesis
   * (field 3, the state). */
  char *p = strrchr (buf, ')');
  unsigned long long v[52] = { 0 };
  int field = 3;
  for (char *save = NULL, *t = p ? strtok_r (p + 1, " ", &save) : NULL; t && field < 52;
       t = strtok_r (NULL, " ", &save))
    v[field++] = strtoull (t, NULL, 10);
  if (field < 52)
    return olrun_fail (err, EINVAL, "short /proc/self/stat");
  *m = (struct prctl_mm_map){
    .start_code = v[26], .end_code = v[27], .start_stack = v[28],
    .start_data = v[45], .end_data = v[46], .start_brk = v[47],
    .arg_start = v[48], .arg_end = v[49], .env_start = v[50], .env_end = v[51],
  };
  return 0;
}

int
olrun_exe_guard_prepare (struct olrun_exe_guard *g, olrun_error_t *err)
{
  g->fd = g->tree = -1;
  if (current_mm_map (&g->map, err) < 0)
    return -1;
  /* Cloning a mount needs CAP_SYS_ADMIN: an unprivileged olrun leaves it
   * to the child, root in its own user and mount namespaces. */
  olrun_error_t tmp = NULL;
  if (open_readonly_self (&g->fd, &g->tree, &tmp) < 0)
    {
      int e = tmp->errnum;
      olrun_error_release (&tmp);
      if (e != EPERM)
        return olrun_fail (err, e, "clone the mount of the olrun binary");
    }
  return 0;
}

void
olrun_exe_guard_clear (struct olrun_exe_guard *g)
{
  g->fd = safe_close (g->fd);
  g->tree = safe_close (g->tree);
}

int
olrun_process_protect_exe (const struct olrun_exe_guard *g, olrun_error_t *err)
{
  _cleanup_close_ int own = -1, tree = -1;
  if (g->fd < 0 && open_readonly_self (&own, &tree, err) < 0)
    return -1;
  int fd = g->fd >= 0 ? g->fd : own;
  if (remap_segments (fd, err) < 0)
    return -1;
  struct prctl_mm_map m = g->map;
  m.brk = (uint64_t) syscall (SYS_brk, 0);
  m.exe_fd = (uint32_t) fd;
  if (prctl (PR_SET_MM, PR_SET_MM_MAP, (unsigned long) &m, sizeof m, 0) < 0)
    return olrun_fail (err, errno, "point /proc/self/exe at the read-only olrun binary");
  return 0;
}
