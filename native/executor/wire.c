/* The planner wire format in C: framing, record iteration, field cursors and
 * a message builder. See wire.h and src/runtime/plan/format.ts. */
#include "wire.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int read_full(int fd, void *buf, size_t n)
{
	size_t got = 0;
	while (got < n) {
		ssize_t r = read(fd, (uint8_t *)buf + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			return got == 0 ? 1 : (errno = EPROTO, -1);
		got += (size_t)r;
	}
	return 0;
}

int wire_read(int fd, struct wmsg *m)
{
	uint8_t hdr[4];
	memset(m, 0, sizeof *m);
	int r = read_full(fd, hdr, 4);
	if (r != 0)
		return r;
	uint32_t n = get32(hdr);
	if (n < 2 || n > WIRE_MAX_MESSAGE) {
		errno = EPROTO;
		return -1;
	}
	uint8_t *buf = malloc(n);
	if (!buf)
		return -1;
	if (read_full(fd, buf, n) != 0) {
		free(buf);
		errno = EPROTO;
		return -1;
	}
	m->type = get16(buf);
	m->body = buf;
	m->len = n;
	if (wire_validate(m) < 0) {
		wire_free(m);
		errno = EPROTO;
		return -1;
	}
	return 0;
}

int wire_parse(const uint8_t *buf, size_t n, struct wmsg *m)
{
	memset(m, 0, sizeof *m);
	if (n < 6 || get32(buf) != n - 4) {
		errno = EPROTO;
		return -1;
	}
	m->body = malloc(n - 4);
	if (!m->body)
		return -1;
	memcpy(m->body, buf + 4, n - 4);
	m->len = n - 4;
	m->type = get16(m->body);
	if (wire_validate(m) < 0) {
		wire_free(m);
		errno = EPROTO;
		return -1;
	}
	return 0;
}

void wire_free(struct wmsg *m)
{
	free(m->body);
	m->body = NULL;
	m->len = 0;
}

/* The body starts with the u16 type; records follow. */
int wire_next(const struct wmsg *m, size_t *pos, struct wrec *r)
{
	if (*pos < 2)
		*pos = 2;
	if (*pos == m->len)
		return 0;
	if (m->len - *pos < 6)
		return -1;
	const uint8_t *p = m->body + *pos;
	uint32_t len = get32(p + 2);
	if (len > m->len - *pos - 6)
		return -1;
	r->tag = get16(p);
	r->len = len;
	r->p = p + 6;
	*pos += 6 + (size_t)len;
	return 1;
}

int wire_validate(const struct wmsg *m)
{
	size_t pos = 0;
	struct wrec r;
	int k;
	while ((k = wire_next(m, &pos, &r)) == 1)
		;
	return k;
}

int wire_find(const struct wmsg *m, uint16_t tag, struct wrec *r)
{
	size_t pos = 0;
	while (wire_next(m, &pos, r) == 1)
		if (r->tag == tag)
			return 1;
	return 0;
}

void wcur_init(struct wcur *c, const struct wrec *r)
{
	c->p = r->p;
	c->end = r->p + r->len;
	c->bad = 0;
}

static const uint8_t *take(struct wcur *c, size_t n)
{
	if (c->bad || (size_t)(c->end - c->p) < n) {
		c->bad = 1;
		return NULL;
	}
	const uint8_t *p = c->p;
	c->p += n;
	return p;
}

uint32_t wcur_u32(struct wcur *c)
{
	const uint8_t *p = take(c, 4);
	return p ? get32(p) : 0;
}

int32_t wcur_i32(struct wcur *c) { return (int32_t)wcur_u32(c); }

uint64_t wcur_u64(struct wcur *c)
{
	const uint8_t *p = take(c, 8);
	return p ? (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32 : 0;
}

const uint8_t *wcur_bytes(struct wcur *c, uint32_t *n)
{
	uint32_t len = wcur_u32(c);
	const uint8_t *p = take(c, len);
	*n = p ? len : 0;
	return p;
}

char *wcur_str(struct wcur *c)
{
	uint32_t n;
	const uint8_t *p = wcur_bytes(c, &n);
	if (p && memchr(p, 0, n))
		c->bad = 1;
	char *s = malloc((size_t)n + 1);
	if (!s) {
		c->bad = 1;
		return NULL;
	}
	if (p && !c->bad)
		memcpy(s, p, n);
	s[c->bad ? 0 : n] = 0;
	return s;
}

char **wcur_strs(struct wcur *c, uint32_t *n)
{
	uint32_t count = wcur_u32(c);
	/* each string needs at least its 4-byte length: bounds the allocation */
	if (c->bad || count > (size_t)(c->end - c->p) / 4) {
		c->bad = 1;
		count = 0;
	}
	char **v = calloc((size_t)count + 1, sizeof *v);
	if (!v) {
		c->bad = 1;
		*n = 0;
		return NULL;
	}
	for (uint32_t i = 0; i < count; i++)
		v[i] = wcur_str(c);
	*n = count;
	return v;
}

uint32_t *wcur_u32s(struct wcur *c, uint32_t *n)
{
	uint32_t count = wcur_u32(c);
	if (c->bad || count > (size_t)(c->end - c->p) / 4) {
		c->bad = 1;
		count = 0;
	}
	uint32_t *v = calloc((size_t)count + 1, sizeof *v);
	if (!v)
		c->bad = 1;
	for (uint32_t i = 0; v && i < count; i++)
		v[i] = wcur_u32(c);
	*n = v ? count : 0;
	return v;
}

static void put(struct wbuf *b, const void *p, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + n)
			cap *= 2;
		uint8_t *d = realloc(b->data, cap);
		if (!d) {
			b->oom = 1;
			return;
		}
		b->data = d;
		b->cap = cap;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
}

static void put32at(struct wbuf *b, size_t at, uint32_t v)
{
	if (b->oom)
		return;
	uint8_t *p = b->data + at;
	p[0] = v & 0xff, p[1] = v >> 8 & 0xff, p[2] = v >> 16 & 0xff, p[3] = v >> 24 & 0xff;
}

void wbuf_u32(struct wbuf *b, uint32_t v)
{
	uint8_t p[4] = { v & 0xff, v >> 8 & 0xff, v >> 16 & 0xff, v >> 24 & 0xff };
	put(b, p, 4);
}

static void wbuf_u16(struct wbuf *b, uint16_t v)
{
	uint8_t p[2] = { v & 0xff, v >> 8 };
	put(b, p, 2);
}

void wbuf_init(struct wbuf *b, uint16_t type)
{
	memset(b, 0, sizeof *b);
	wbuf_u32(b, 0);
	wbuf_u16(b, type);
}

void wbuf_free(struct wbuf *b)
{
	free(b->data);
	memset(b, 0, sizeof *b);
}

static void close_rec(struct wbuf *b)
{
	if (b->rec_at)
		put32at(b, b->rec_at, (uint32_t)(b->len - b->rec_at - 4));
	b->rec_at = 0;
}

void wbuf_rec(struct wbuf *b, uint16_t tag)
{
	close_rec(b);
	wbuf_u16(b, tag);
	b->rec_at = b->len;
	wbuf_u32(b, 0);
}

void wbuf_bytes(struct wbuf *b, const void *p, size_t n)
{
	wbuf_u32(b, (uint32_t)n);
	put(b, p, n);
}

void wbuf_str(struct wbuf *b, const char *s) { wbuf_bytes(b, s, strlen(s)); }

int wbuf_finish(struct wbuf *b)
{
	close_rec(b);
	put32at(b, 0, (uint32_t)(b->len - 4));
	if (b->oom) {
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

int wbuf_send(struct wbuf *b, int fd)
{
	if (wbuf_finish(b) < 0)
		return -1;
	size_t off = 0;
	while (off < b->len) {
		/* MSG_NOSIGNAL: a vanished peer is an error to report, not a SIGPIPE death */
		ssize_t r = send(fd, b->data + off, b->len - off, MSG_NOSIGNAL);
		if (r < 0 && errno == ENOTSOCK)
			r = write(fd, b->data + off, b->len - off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		off += (size_t)r;
	}
	return 0;
}

int wire_send_empty(int fd, uint16_t type)
{
	struct wbuf b;
	wbuf_init(&b, type);
	int r = wbuf_send(&b, fd);
	wbuf_free(&b);
	return r;
}

int wire_send_u32(int fd, uint16_t type, uint16_t tag, uint32_t v)
{
	struct wbuf b;
	wbuf_init(&b, type);
	wbuf_rec(&b, tag);
	wbuf_u32(&b, v);
	int r = wbuf_send(&b, fd);
	wbuf_free(&b);
	return r;
}
