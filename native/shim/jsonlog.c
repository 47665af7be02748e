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

/* The same text into out (JLOG_TIME_LEN bytes, no NUL), for every log line:
 * the date and time are formatted once per second, the nanoseconds by hand. */
#define JLOG_TIME_LEN 30
static void put_time(uint64_t ns, char *out)
{
	static time_t cached = -1;
	static char day[20];
	time_t sec = (time_t)(ns / 1000000000ull);
	if (sec != cached) {
		struct tm tm;
		gmtime_r(&sec, &tm);
		char tmp[32];
		if (strftime(tmp, sizeof tmp, "%Y-%m-%dT%H:%M:%S", &tm) != 19) {
			/* a year past 9999: the general form, cut to the fixed length */
			char t[48];
			format_time(ns, t, sizeof t);
			memcpy(out, t, JLOG_TIME_LEN);
			return;
		}
		memcpy(day, tmp, 19);
		cached = sec;
	}
	memcpy(out, day, 19);
	out[19] = '.';
	uint32_t f = (uint32_t)(ns % 1000000000ull);
	for (int i = 28; i >= 20; i--) {
		out[i] = (char)('0' + f % 10);
		f /= 10;
	}
	out[29] = 'Z';
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
	l->pend = NULL;
	l->plen = l->pcap = 0;
	l->batch_ns = l->last_ns = 0;
	l->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	if (l->fd < 0 || !l->path)
		return -1;
	struct stat st;
	int ok = fstat(l->fd, &st) == 0;
	l->size = ok ? st.st_size : 0;
	l->kicked = l->size;
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
	jlog_flush(l);
	free(l->pend);
	l->pend = NULL;
	l->plen = l->pcap = 0;
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
	free(l->path);
	l->path = NULL;
}

/* Writeback of what was written is started every WRITEBACK_STEP bytes,
 * not waited for. Left to the kernel, a chatty container's log stays dirty
 * in the page cache until the unmount of its root filesystem, and an
 * overlayfs unmount syncs the whole filesystem under it: the core waited
 * ~230 ms there after 500 MB of log. */
#define WRITEBACK_STEP (8ll << 20)

static void start_writeback(struct jlog *l)
{
	if (l->fd < 0 || l->size - l->kicked < WRITEBACK_STEP)
		return;
	sync_file_range(l->fd, l->kicked, l->size - l->kicked, SYNC_FILE_RANGE_WRITE);
	l->kicked = l->size;
}

static void rotate(struct jlog *l)
{
	if (l->max_file <= 1) {
		/* one file only: start it again, as docker does */
		if (ftruncate(l->fd, 0) == 0) {
			l->size = 0;
			l->kicked = 0;
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
	l->kicked = 0;
	struct stat st;
	l->inode = fstat(fd, &st) == 0 ? (uint64_t)st.st_ino : 0;
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

static const char HEX[] = "0123456789abcdef";

/* Bytes that go into a JSON string as they are: printable ASCII but the
 * quote and the backslash. Runs of them are copied in one memcpy. */
static unsigned char plain[256];

static void init_plain(void)
{
	if (plain['a'])
		return;
	for (int c = 0x20; c < 0x7f; c++)
		plain[c] = 1;
	plain['"'] = plain['\\'] = 0;
}

/* JSON string body into o (room for 6 bytes per input byte); invalid UTF-8
 * becomes U+FFFD as in docker. Returns the end of what was written. */
static char *put_escaped(char *o, const unsigned char *p, size_t n)
{
	size_t i = 0;
	while (i < n) {
		size_t j = i;
		while (j < n && plain[p[j]])
			j++;
		memcpy(o, p + i, j - i);
		o += j - i;
		i = j;
		if (i == n)
			break;
		unsigned char c = p[i];
		if (c == '"' || c == '\\') {
			*o++ = '\\';
			*o++ = (char)c;
			i++;
		} else if (c < 0x20 || c == 0x7f) {
			*o++ = '\\';
			if (c == '\n')
				*o++ = 'n';
			else if (c == '\r')
				*o++ = 'r';
			else if (c == '\t')
				*o++ = 't';
			else {
				memcpy(o, "u00", 3);
				o[3] = HEX[c >> 4];
				o[4] = HEX[c & 15];
				o += 5;
			}
			i++;
		} else {
			size_t k = utf8_len(p + i, n - i);
			if (k) {
				memcpy(o, p + i, k);
				o += k;
				i += k;
			} else {
				memcpy(o, "\\ufffd", 6);
				o += 6;
				i++;
			}
		}
	}
	return o;
}

/* Writes the pending entries. A failure (a full disk) loses the entries not
 * completely written, counted; a piece of one would break the line after,
 * so the file is cut back to the last whole entry, and the next flush
 * tries again (logging resumes when space returns). */
void jlog_flush(struct jlog *l)
{
	size_t off = 0;
	while (off < l->plen) {
		ssize_t w = write(l->fd, l->pend + off, l->plen - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			l->last_errno = errno;
			size_t whole = off;
			while (whole > 0 && l->pend[whole - 1] != '\n')
				whole--;
			for (size_t i = whole; i < l->plen; i++)
				l->errors += l->pend[i] == '\n';
			if (off > whole && ftruncate(l->fd, l->size + (long long)whole) < 0)
				whole = off;
			off = whole;
			break;
		}
		off += (size_t)w;
	}
	l->size += (long long)off;
	l->plen = 0;
	l->batch_ns = 0; /* the next entry reads the clock again */
	start_writeback(l);
}

/* An entry's time. The clock is read once per batch (one read of the
 * output, see jlog_flush): every line of a read arrived at that moment.
 * The entries of a batch then count up by a nanosecond each, so times stay
 * distinct and in order as with a clock read per line (`logs --since` the
 * time of one line starts at that line), at a fraction of the cost: a
 * clock read was as much as formatting the rest of a short line's entry. */
static void put_entry_time(struct jlog *l, char *out)
{
	if (l->batch_ns == 0) {
		uint64_t now = now_ns();
		l->batch_ns = now > l->last_ns ? now : l->last_ns + 1;
		put_time(l->batch_ns, l->time_text);
	} else {
		/* a nanosecond on: the text's last digits count up; past .999999999 it is formatted anew */
		int i = 28;
		while (i >= 20 && l->time_text[i] == '9')
			l->time_text[i--] = '0';
		if (i >= 20)
			l->time_text[i]++;
		else
			put_time(l->batch_ns, l->time_text);
	}
	l->last_ns = l->batch_ns++;
	memcpy(out, l->time_text, JLOG_TIME_LEN);
}

void jlog_entry(struct jlog *l, const char *stream, const char *p, size_t n, int newline)
{
	if (l->fd < 0) {
		l->errors++;
		return;
	}
	init_plain();
	size_t slen = strlen(stream);
	size_t most = 8 + n * 6 + 2 + 12 + slen + 10 + JLOG_TIME_LEN + 3;
	if (l->plen + most > l->pcap) {
		/* a batch is one read of output: flush rather than grow past a few reads' worth */
		if (l->plen > 0 && l->plen + most > (1u << 20))
			jlog_flush(l);
		size_t cap = l->pcap ? l->pcap : 65536;
		while (cap < l->plen + most)
			cap *= 2;
		char *q = realloc(l->pend, cap);
		if (!q) {
			l->errors++;
			return;
		}
		l->pend = q;
		l->pcap = cap;
	}
	char *start = l->pend + l->plen, *o = start;
	memcpy(o, "{\"log\":\"", 8);
	o = put_escaped(o + 8, (const unsigned char *)p, n);
	if (newline) {
		memcpy(o, "\\n", 2);
		o += 2;
	}
	/* the text between the line and the time, in one copy for the two usual streams */
	static const char mid_out[] = "\",\"stream\":\"stdout\",\"time\":\"", mid_err[] = "\",\"stream\":\"stderr\",\"time\":\"";
	if (slen == 6 && (memcmp(stream, "stdout", 6) == 0 || memcmp(stream, "stderr", 6) == 0)) {
		memcpy(o, stream[3] == 'o' ? mid_out : mid_err, sizeof mid_out - 1);
		o += sizeof mid_out - 1 - 10;
	} else {
		memcpy(o, "\",\"stream\":\"", 12);
		memcpy(o + 12, stream, slen);
		o += 12 + slen;
		memcpy(o, "\",\"time\":\"", 10);
	}
	put_entry_time(l, o + 10);
	o += 10 + JLOG_TIME_LEN;
	memcpy(o, "\"}\n", 3);
	o += 3;
	size_t len = (size_t)(o - start);
	if (l->max_size > 0 && l->size + (long long)l->plen > 0 && l->size + (long long)(l->plen + len) > l->max_size) {
		/* the entries before this one go to the file that is rotated away */
		size_t before = l->plen;
		char *mine = malloc(len);
		if (!mine) {
			l->errors++;
			return;
		}
		memcpy(mine, start, len);
		l->plen = before;
		jlog_flush(l);
		rotate(l);
		memcpy(l->pend, mine, len);
		free(mine);
		l->plen = len;
		return;
	}
	l->plen += len;
}
