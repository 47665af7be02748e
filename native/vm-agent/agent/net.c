/* The guest's network, as the host's namespace had it: the virtio-net
 * interface (the host gave it eth0's MAC) gets eth0's address, loopback
 * comes up, and the default route goes to the engine's gateway. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "agent.h"
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <net/route.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

static int if_up(int s, const char *name) {
  struct ifreq r;
  memset(&r, 0, sizeof r);
  snprintf(r.ifr_name, IFNAMSIZ, "%s", name);
  if (ioctl(s, SIOCGIFFLAGS, &r) < 0) return -1;
  r.ifr_flags |= IFF_UP | IFF_RUNNING;
  return ioctl(s, SIOCSIFFLAGS, &r);
}

static int set_addr(int s, const char *name, unsigned long req, in_addr_t a) {
  struct ifreq r;
  memset(&r, 0, sizeof r);
  snprintf(r.ifr_name, IFNAMSIZ, "%s", name);
  struct sockaddr_in *sin = (struct sockaddr_in *)&r.ifr_addr;
  sin->sin_family = AF_INET;
  sin->sin_addr.s_addr = a;
  return ioctl(s, req, &r);
}

int net_setup(const char *net_if, const char *gw, char *err, size_t errlen) {
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) { snprintf(err, errlen, "cannot open a socket: %s", strerror(errno)); return -1; }
  if_up(s, "lo");
  int rc = 0;
  if (net_if) {
    /* "mac \x1f a.b.c.d/len": the MAC is already the device's */
    const char *cidr = strchr(net_if, VM_FIELD_SEP);
    char ip[64];
    snprintf(ip, sizeof ip, "%s", cidr ? cidr + 1 : "");
    char *slash = strchr(ip, '/');
    int len = slash ? atoi(slash + 1) : 24;
    if (slash) *slash = 0;
    in_addr_t addr = inet_addr(ip);
    in_addr_t mask = len ? htonl(0xffffffffu << (32 - len)) : 0;
    /* wait for the driver to register the interface */
    for (int i = 0; i < 200 && if_nametoindex("eth0") == 0; i++) usleep(10000);
    if (set_addr(s, "eth0", SIOCSIFADDR, addr) < 0 || set_addr(s, "eth0", SIOCSIFNETMASK, mask) < 0 || if_up(s, "eth0") < 0) {
      snprintf(err, errlen, "cannot configure eth0 with %s: %s", ip, strerror(errno));
      rc = -1;
    }
  }
  if (rc == 0 && gw) {
    struct rtentry rt;
    memset(&rt, 0, sizeof rt);
    struct sockaddr_in *dst = (struct sockaddr_in *)&rt.rt_dst, *g = (struct sockaddr_in *)&rt.rt_gateway, *m = (struct sockaddr_in *)&rt.rt_genmask;
    dst->sin_family = g->sin_family = m->sin_family = AF_INET;
    g->sin_addr.s_addr = inet_addr(gw);
    rt.rt_flags = RTF_UP | RTF_GATEWAY;
    if (ioctl(s, SIOCADDRT, &rt) < 0) { snprintf(err, errlen, "cannot add the default route via %s: %s", gw, strerror(errno)); rc = -1; }
  }
  close(s);
  return rc;
}
