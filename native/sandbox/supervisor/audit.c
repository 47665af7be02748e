/* The audit log: one JSON object per line, appended (O_APPEND keeps lines
 * of several supervisors of one container whole). */
#include "supervisor.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void now_iso(char *buf, size_t n)
{
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	size_t k = strftime(buf, n, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + k, n - k, ".%06ldZ", ts.tv_nsec / 1000);
}

static void put(struct sup *s, const char *line, int len)
{
	if (s->audit >= 0 && len > 0)
		(void)!write(s->audit, line, (size_t)len);
}

/* names come from the planner's table: [a-z0-9_] only, no escaping needed */
void audit_refusal(struct sup *s, const struct seccomp_notif *n, const char *name, int err)
{
	char t[48], line[640];
	now_iso(t, sizeof t);
	const __u64 *a = n->data.args;
	int len = snprintf(line, sizeof line,
			   "{\"time\":\"%s\",\"action\":\"refuse\",\"syscall\":\"%s\",\"nr\":%d,\"arch\":\"0x%x\",\"pid\":%u,"
			   "\"args\":[\"0x%llx\",\"0x%llx\",\"0x%llx\",\"0x%llx\",\"0x%llx\",\"0x%llx\"],\"errno\":%d}\n",
			   t, name, n->data.nr, n->data.arch, n->pid, (unsigned long long)a[0], (unsigned long long)a[1],
			   (unsigned long long)a[2], (unsigned long long)a[3], (unsigned long long)a[4],
			   (unsigned long long)a[5], err);
	put(s, line, len < (int)sizeof line ? len : (int)sizeof line - 1);
}

void audit_error(struct sup *s, const char *fmt, ...)
{
	char t[48], msg[400], line[640];
	now_iso(t, sizeof t);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	for (char *p = msg; *p; p++)
		if (*p == '"' || *p == '\\' || (unsigned char)*p < 0x20)
			*p = ' ';
	int len = snprintf(line, sizeof line, "{\"time\":\"%s\",\"action\":\"error\",\"message\":\"berth-sandbox-supervisor: %s\"}\n", t, msg);
	put(s, line, len < (int)sizeof line ? len : (int)sizeof line - 1);
}

/* JSON string body of arbitrary bytes: quotes, backslashes, control and
 * non-ASCII bytes escaped (paths need not be UTF-8). */
static void json_escape(const char *in, char *out, size_t n)
{
	size_t o = 0;
	for (const unsigned char *p = (const unsigned char *)in; *p && o + 7 < n; p++) {
		if (*p == '"' || *p == '\\') {
			out[o++] = '\\';
			out[o++] = (char)*p;
		} else if (*p < 0x20 || *p >= 0x7f) {
			o += (size_t)snprintf(out + o, n - o, "\\u%04x", *p);
		} else {
			out[o++] = (char)*p;
		}
	}
	out[o] = 0;
}

void audit_path(struct sup *s, const struct seccomp_notif *n, const char *name, const char *path, const char *why, int err)
{
	char t[48], esc[1024], line[1400];
	now_iso(t, sizeof t);
	json_escape(path, esc, sizeof esc);
	int len = snprintf(line, sizeof line,
			   "{\"time\":\"%s\",\"action\":\"refuse\",\"syscall\":\"%s\",\"nr\":%d,\"arch\":\"0x%x\",\"pid\":%u,"
			   "\"path\":\"%s\",\"reason\":\"%s\",\"errno\":%d}\n",
			   t, name, n->data.nr, n->data.arch, n->pid, esc, why, err);
	put(s, line, len < (int)sizeof line ? len : (int)sizeof line - 1);
}
