/* What the cgroup code can do on this host, for `features`. */
#include "cgroup/internal.h"
#include "olrun/cgroup.h"

void
olrun_cgroup_features (struct olrun_cgroup_features *ret)
{
  /* cgroup v1 is never used (a hybrid host's v2 hierarchy is); the
   * systemd manager and the rdma controller are not implemented yet.
   * cgroupfs works wherever a cgroup2 hierarchy is mounted. */
  *ret = (struct olrun_cgroup_features){ .v2 = olrun_cgroup2_mountpoint () != NULL };
}
