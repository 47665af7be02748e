/* One descriptor passed over a unix socket (SCM_RIGHTS): the control data
 * of a msghdr, put and taken the same way by every binary that passes one
 * (the executor, the shim's callers, the addon, the CLI front). */
#ifndef BERTH_FDPASS_H
#define BERTH_FDPASS_H

#include <string.h>
#include <sys/socket.h>

/* Control buffer for one descriptor; must live as long as the msghdr. */
union fd_cmsg {
	char buf[CMSG_SPACE(sizeof(int))];
	struct cmsghdr align;
};

/* Attaches fd to the message mh sends. */
static inline void fd_cmsg_put(struct msghdr *mh, union fd_cmsg *u, int fd)
{
	memset(u, 0, sizeof *u);
	mh->msg_control = u->buf;
	mh->msg_controllen = sizeof u->buf;
	struct cmsghdr *cm = CMSG_FIRSTHDR(mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof fd);
}

/* Makes mh ready to receive one descriptor into u. */
static inline void fd_cmsg_room(struct msghdr *mh, union fd_cmsg *u)
{
	mh->msg_control = u->buf;
	mh->msg_controllen = sizeof u->buf;
}

/* The descriptor a received message carried, -1 for none. */
static inline int fd_cmsg_get(struct msghdr *mh)
{
	int fd = -1;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm))
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS && cm->cmsg_len >= CMSG_LEN(sizeof(int)))
			memcpy(&fd, CMSG_DATA(cm), sizeof fd);
	return fd;
}

#endif
