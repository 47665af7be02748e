/* Reader and writer for the planner wire format (src/runtime/plan/format.ts).
 * Every read is bounds-checked: a malformed message sets an error flag and
 * yields zero values, it never reads past the buffer. */
#ifndef BERTH_EXECUTOR_WIRE_H
#define BERTH_EXECUTOR_WIRE_H

#include <stddef.h>
#include <stdint.h>

/* Largest message accepted from a peer: plans are a few KiB, stdin chunks 64 KiB. */
#define WIRE_MAX_MESSAGE (64u << 20)

struct wmsg {
	uint16_t type;
	uint8_t *body; /* the records, after the type */
	size_t len;
};

struct wrec {
	uint16_t tag;
	const uint8_t *p;
	uint32_t len;
};

/* A cursor over the fields of one record. */
struct wcur {
	const uint8_t *p;
	const uint8_t *end;
	int bad;
};

/* Reads one framed message from a stream. 0 = ok, 1 = clean EOF before a
 * message, -1 = error or malformed (errno set). */
int wire_read(int fd, struct wmsg *m);
/* Parses a message already held in memory (one SEQPACKET datagram). */
int wire_parse(const uint8_t *buf, size_t n, struct wmsg *m);
void wire_free(struct wmsg *m);

/* Iterates the records of a message: 1 = got one, 0 = end, -1 = malformed. */
int wire_next(const struct wmsg *m, size_t *pos, struct wrec *r);
/* The first record with this tag: 1 = found, 0 = absent. */
int wire_find(const struct wmsg *m, uint16_t tag, struct wrec *r);
/* 0 when every record header fits in the message, -1 otherwise. */
int wire_validate(const struct wmsg *m);

void wcur_init(struct wcur *c, const struct wrec *r);
uint32_t wcur_u32(struct wcur *c);
int32_t wcur_i32(struct wcur *c);
uint64_t wcur_u64(struct wcur *c);
/* Returns a malloc'd NUL-terminated copy; an embedded NUL makes the record bad. */
char *wcur_str(struct wcur *c);
/* Raw bytes inside the record (not copied). */
const uint8_t *wcur_bytes(struct wcur *c, uint32_t *n);
/* malloc'd NULL-terminated vector of strings. */
char **wcur_strs(struct wcur *c, uint32_t *n);
uint32_t *wcur_u32s(struct wcur *c, uint32_t *n);

/* Message builder. */
struct wbuf {
	uint8_t *data;
	size_t len, cap;
	size_t rec_at; /* offset of the open record's length */
	int oom;
};

void wbuf_init(struct wbuf *b, uint16_t type);
void wbuf_free(struct wbuf *b);
void wbuf_rec(struct wbuf *b, uint16_t tag); /* opens a record (closing the previous) */
void wbuf_u32(struct wbuf *b, uint32_t v);
void wbuf_bytes(struct wbuf *b, const void *p, size_t n);
void wbuf_str(struct wbuf *b, const char *s);
/* Closes the last record and patches the frame length; returns data/len. */
int wbuf_finish(struct wbuf *b);
/* Writes the whole framed message to a stream. 0 = ok, -1 = error. */
int wbuf_send(struct wbuf *b, int fd);

/* Convenience: a message with no records, or one u32 record. */
int wire_send_empty(int fd, uint16_t type);
int wire_send_u32(int fd, uint16_t type, uint16_t tag, uint32_t v);

#endif
