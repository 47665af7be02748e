/* Docker's json-file log format: {"log":"…","stream":"stdout","time":"…"}\n,
 * with rotation at max-size keeping max-file files (name, name.1, …). */
#include "internal.h"
#include "../executor/wire.h"
#include <berth/shim.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* RFC 3339 with nanoseconds, UTC: 2026-11-29T14:00:00.123456789Z */
void format_time(uint64_t ns, char *out, size_t n)
{
	time_t sec = (time_t)(ns / 1000000000ull);
	struct tm tm;
	gmtime_r(&sec, &tm);
	char day[32];
	strftime(day, sizeof day, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, n, "%s.%09lluZ", day, (unsigned long long)(ns % 1000000000ull));
}

int jlog_open(struct jlog *l, const char *path, long long max_size, int max_file)
{
	l->path = strdup(path);
	l->max_size = max_size;
	l->max_file = max_file < 1 ? 1 : max_file;
	l->last_errno = 0;
	l->errors = 0;
	l->generation = 0;
	l->inode = 0;
	l->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	if (l->fd < 0 || !l->path)
		return -1;
	struct stat st;
	int ok = fstat(l->fd, &st) == 0;
	l->size = ok ? st.st_size : 0;
	l->inode = ok ? (uint64_t)st.st_ino : 0;
	return 0;
}

static void wbuf_u64(struct wbuf *b, uint64_t v)
{
	wbuf_u32(b, (uint32_t)v);
	wbuf_u32(b, (uint32_t)(v >> 32));
}

/* The inode names the file across renames (name -> name.1 …), so a reader
 * finds it among the rotated files; the generation tells it whether a
 * rotation came after (with max_file 1 the same inode is emptied). */
void jlog_pos(const struct jlog *l, struct wbuf *b)
{
	wbuf_rec(b, SHIM_REC_LOG_POS);
	wbuf_u32(b, l->generation);
	wbuf_u64(b, l->fd >= 0 ? l->inode : 0);
	wbuf_u64(b, (uint64_t)l->size);
	wbuf_u32(b, l->max_size > 0 ? (uint32_t)l->max_file : 0);
}

void jlog_close(struct jlog *l)
{
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
	free(l->path);
	l->path = NULL;
}

static void rotate(struct jlog *l)
{
	if (l->max_file <= 1) {
		/* one file only: start it again, as docker does */
		if (ftruncate(l->fd, 0) == 0) {
			l->size = 0;
			l->generation++;
		}
		return;
	}
	size_t n = strlen(l->path) + 16;
	char from[n], to[n];
	snprintf(to, n, "%s.%d", l->path, l->max_file - 1);
	unlink(to);
	for (int i = l->max_file - 2; i >= 1; i--) {
		snprintf(from, n, "%s.%d", l->path, i);
		snprintf(to, n, "%s.%d", l->path, i + 1);
		rename(from, to);
	}
	snprintf(to, n, "%s.1", l->path);
	if (rename(l->path, to) == 0)
		l->generation++;
	int fd = open(l->path, O_WRONLY | O_CREAT | O_APPEND | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0) {
		l->last_errno = errno;
		return;
	}
	close(l->fd);
	l->fd = fd;
	l->size = 0;
	struct stat st;
	l->inode = fstat(fd, &st) == 0 ? (uint64_t)st.st_ino : 0;
}

struct sbuf {
	char *p;
	size_t len, cap;
};

static void put(struct sbuf *b, const char *s, size_t n)
{
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 512;
		while (cap < b->len + n)
			cap *= 2;
		char *q = realloc(b->p, cap);
		if (!q)
			return;
		b->p = q;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

/* Length of a well-formed UTF-8 sequence at p, 0 when it is not one. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
	size_t k = p[0] >= 0xc2 && p[0] <= 0xdf ? 2 : p[0] >= 0xe0 && p[0] <= 0xef ? 3 : p[0] >= 0xf0 && p[0] <= 0xf4 ? 4 : 0;
	if (!k || k > n)
		return 0;
	for (size_t i = 1; i < k; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	if ((p[0] == 0xe0 && p[1] < 0xa0) || (p[0] == 0xed && p[1] > 0x9f) || (p[0] == 0xf0 && p[1] < 0x90) || (p[0] == 0xf4 && p[1] > 0x8f))
		return 0;
	return k;
}

/* JSON string body; invalid UTF-8 becomes U+FFFD as in docker. */
static void put_escaped(struct sbuf *b, const unsigned char *p, size_t n)
{
	size_t i = 0;
	while (i < n) {
		unsigned char c = p[i];
		if (c == '"' || c == '\\') {
			char e[2] = { '\\', (char)c };
			put(b, e, 2);
			i++;
		} else if (c < 0x20 || c == 0x7f) {
			char e[8];
			const char *short_form = c == '\n' ? "\\n" : c == '\r' ? "\\r" : c == '\t' ? "\\t" : NULL;
			if (short_form)
				put(b, short_form, 2);
			else
				put(b, e, (size_t)snprintf(e, sizeof e, "\\u%04x", c));
			i++;
		} else if (c < 0x80) {
			put(b, (const char *)&p[i], 1);
			i++;
		} else {
			size_t k = utf8_len(p + i, n - i);
			if (k) {
				put(b, (const char *)p + i, k);
				i += k;
			} else {
				put(b, "\\ufffd", 6);
				i++;
			}
		}
	}
}

void jlog_entry(struct jlog *l, const char *stream, const char *p, size_t n, int newline)
{
	if (l->fd < 0) {
		l->errors++;
		return;
	}
	static struct sbuf b;
	char t[48];
	format_time(now_ns(), t, sizeof t);
	b.len = 0;
	put(&b, "{\"log\":\"", 8);
	put_escaped(&b, (const unsigned char *)p, n);
	if (newline)
		put(&b, "\\n", 2);
	put(&b, "\",\"stream\":\"", 12);
	put(&b, stream, strlen(stream));
	put(&b, "\",\"time\":\"", 10);
	put(&b, t, strlen(t));
	put(&b, "\"}\n", 3);
	if (l->max_size > 0 && l->size > 0 && l->size + (long long)b.len > l->max_size)
		rotate(l);
	size_t off = 0;
	while (off < b.len) {
		ssize_t w = write(l->fd, b.p + off, b.len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			/* a full disk: the entry is lost and counted; a piece of it
			 * would break the line after, so it is cut off again, and the
			 * next entry tries again (logging resumes when space returns) */
			l->last_errno = errno;
			l->errors++;
			if (off && ftruncate(l->fd, l->size) < 0)
				l->size += (long long)off;
			return;
		}
		off += (size_t)w;
	}
	l->size += (long long)off;
}
