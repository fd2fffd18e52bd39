/* linux.netDevices (runtime-spec 1.3): move a host interface into the
 * container's network namespace.  One RTM_NEWLINK carries both the target
 * namespace and the new name, so the interface never appears in the
 * container under its host name (where it could clash). */
#include <net/if.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <string.h>
#include <sys/socket.h>

#include "olrun/namespaces.h"
#include "olrun/util.h"

struct nlreq
{
  struct nlmsghdr nh;
  struct ifinfomsg ifi;
  char attrs[128];
};

static void
add_attr (struct nlreq *r, unsigned short type, const void *data, size_t len)
{
  struct rtattr *a = (struct rtattr *) ((char *) r + NLMSG_ALIGN (r->nh.nlmsg_len));
  a->rta_type = type;
  a->rta_len = (unsigned short) RTA_LENGTH (len);
  memcpy (RTA_DATA (a), data, len);
  r->nh.nlmsg_len = NLMSG_ALIGN (r->nh.nlmsg_len) + RTA_ALIGN (a->rta_len);
}

int
olrun_netdev_move (const char *host_name, const char *name, pid_t pid, olrun_error_t *err)
{
  unsigned idx = if_nametoindex (host_name);
  if (idx == 0)
    return olrun_error_set (err, OLRUN_E_INVALID, errno, "host interface `%s`", host_name);
  _cleanup_close_ int sock = socket (AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (sock < 0)
    return olrun_fail (err, errno, "netlink socket");
  struct nlreq req;
  memset (&req, 0, sizeof req);
  req.nh.nlmsg_len = NLMSG_LENGTH (sizeof (struct ifinfomsg));
  req.nh.nlmsg_type = RTM_NEWLINK;
  req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
  req.nh.nlmsg_seq = 1;
  req.ifi.ifi_family = AF_UNSPEC;
  req.ifi.ifi_index = (int) idx;
  uint32_t p = (uint32_t) pid;
  add_attr (&req, IFLA_NET_NS_PID, &p, sizeof p);
  add_attr (&req, IFLA_IFNAME, name, strlen (name) + 1);
  if (send (sock, &req, req.nh.nlmsg_len, 0) < 0)
    return olrun_fail (err, errno, "netlink send");
  char buf[4096];
  ssize_t n = recv (sock, buf, sizeof buf, 0);
  if (n < 0)
    return olrun_fail (err, errno, "netlink recv");
  struct nlmsghdr *h = (struct nlmsghdr *) buf;
  if (!NLMSG_OK (h, (size_t) n) || h->nlmsg_type != NLMSG_ERROR)
    return olrun_fail (err, EPROTO, "netlink: unexpected reply");
  struct nlmsgerr *e = NLMSG_DATA (h);
  if (e->error != 0)
    return olrun_fail (err, -e->error, "move `%s` into the container as `%s`", host_name, name);
  return 0;
}
