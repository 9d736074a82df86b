/* cmocka tests of the record-marking reassembler and encoder (server/recmark.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "recmark.h"

/* Records collected from a stream, in order. */
struct sink {
	uint8_t *rec[16];
	size_t len[16];
	int n;
};

static void sink_free(struct sink *s)
{
	for (int i = 0; i < s->n; i++)
		free(s->rec[i]);
	s->n = 0;
}

/* Feed data[0..n) completely, collecting records. Returns 0 or the feed error. */
static int feed_all(struct recmark *rm, const uint8_t *data, size_t n, struct sink *s)
{
	size_t off = 0;

	while (off < n) {
		uint8_t *rec;
		size_t len;
		ssize_t r = recmark_feed(rm, data + off, n - off, &rec, &len);

		if (r < 0)
			return (int)r;
		/* Progress or a record, never neither: the caller's loop must terminate. */
		assert_true(r > 0 || rec);
		off += (size_t)r;
		if (rec) {
			assert_true(s->n < 16);
			s->rec[s->n] = rec;
			s->len[s->n++] = len;
		} else {
			/* Without a record, everything offered is consumed. */
			assert_int_equal(off, n);
		}
	}
	return 0;
}

static size_t put_hdr(uint8_t *p, uint32_t len, int last)
{
	uint32_t m = len | (last ? RECMARK_LAST : 0);

	p[0] = (uint8_t)(m >> 24);
	p[1] = (uint8_t)(m >> 16);
	p[2] = (uint8_t)(m >> 8);
	p[3] = (uint8_t)m;
	return 4;
}

/* Append one record cut into fragments of the given sizes (sum = len). */
static size_t put_record(uint8_t *p, const uint8_t *payload, const size_t *frags, int nfrags)
{
	size_t off = 0, at = 0;

	for (int i = 0; i < nfrags; i++) {
		off += put_hdr(p + off, (uint32_t)frags[i], i == nfrags - 1);
		memcpy(p + off, payload + at, frags[i]);
		off += frags[i];
		at += frags[i];
	}
	return off;
}

static void fill(uint8_t *p, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed + i * 7);
}

static void test_split_at_every_boundary(void **state)
{
	uint8_t a[37], b[50], stream[256];
	size_t fa[] = {37}, fb[] = {5, 0, 20, 1, 24};
	size_t n = 0;

	(void)state;
	fill(a, sizeof(a), 1);
	fill(b, sizeof(b), 99);
	n += put_record(stream + n, a, fa, 1);
	n += put_record(stream + n, b, fb, 5);

	/* Every cut point, including the ones inside fragment headers. */
	for (size_t cut = 0; cut <= n; cut++) {
		struct recmark rm;
		struct sink s = {0};

		recmark_init(&rm, 0);
		assert_int_equal(feed_all(&rm, stream, cut, &s), 0);
		assert_int_equal(feed_all(&rm, stream + cut, n - cut, &s), 0);
		assert_int_equal(s.n, 2);
		assert_int_equal(s.len[0], sizeof(a));
		assert_memory_equal(s.rec[0], a, sizeof(a));
		assert_int_equal(s.len[1], sizeof(b));
		assert_memory_equal(s.rec[1], b, sizeof(b));
		assert_false(recmark_mid_record(&rm));
		sink_free(&s);
		recmark_release(&rm);
	}
}

static void test_byte_at_a_time(void **state)
{
	uint8_t a[300], stream[400];
	size_t fa[] = {100, 0, 150, 50};
	size_t n;
	struct recmark rm;
	struct sink s = {0};

	(void)state;
	fill(a, sizeof(a), 3);
	n = put_record(stream, a, fa, 4);
	recmark_init(&rm, 0);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(s.n, 0);
		assert_int_equal(feed_all(&rm, stream + i, 1, &s), 0);
	}
	assert_int_equal(s.n, 1);
	assert_int_equal(s.len[0], sizeof(a));
	assert_memory_equal(s.rec[0], a, sizeof(a));
	sink_free(&s);
	recmark_release(&rm);
}

/* One feed call stops after the first record, so the caller can apply backpressure. */
static void test_stops_after_each_record(void **state)
{
	uint8_t stream[64];
	uint8_t *rec;
	size_t len, n = 0;
	ssize_t r;
	struct recmark rm;

	(void)state;
	n += put_hdr(stream + n, 3, 1);
	memcpy(stream + n, "abc", 3);
	n += 3;
	n += put_hdr(stream + n, 2, 1);
	memcpy(stream + n, "de", 2);
	n += 2;

	recmark_init(&rm, 0);
	r = recmark_feed(&rm, stream, n, &rec, &len);
	assert_int_equal(r, 7);
	assert_non_null(rec);
	assert_int_equal(len, 3);
	assert_memory_equal(rec, "abc", 3);
	free(rec);
	r = recmark_feed(&rm, stream + 7, n - 7, &rec, &len);
	assert_int_equal(r, 6);
	assert_non_null(rec);
	assert_int_equal(len, 2);
	assert_memory_equal(rec, "de", 2);
	free(rec);
	recmark_release(&rm);
}

static void test_oversize_rejected_before_body(void **state)
{
	uint8_t hdr[4], body[600];
	uint8_t *rec;
	size_t len;
	struct recmark rm;
	struct sink s = {0};

	(void)state;
	/* Exactly the limit is fine. */
	recmark_init(&rm, 1000);
	{
		uint8_t stream[1004], payload[1000];
		size_t f[] = {1000};

		fill(payload, sizeof(payload), 0);
		put_record(stream, payload, f, 1);
		assert_int_equal(feed_all(&rm, stream, sizeof(stream), &s), 0);
		assert_int_equal(s.n, 1);
		sink_free(&s);
	}
	recmark_release(&rm);

	/* One byte over: refused on the header alone, nothing buffered. */
	recmark_init(&rm, 1000);
	put_hdr(hdr, 1001, 1);
	assert_int_equal(recmark_feed(&rm, hdr, 4, &rec, &len), -EMSGSIZE);
	assert_null(rec);
	assert_null(rm.buf);
	/* Sticky: the stream cannot be resynchronised. */
	assert_int_equal(recmark_feed(&rm, body, 10, &rec, &len), -EMSGSIZE);
	recmark_release(&rm);

	/* The bound is on the record: the second fragment header pushes it over. */
	recmark_init(&rm, 1000);
	fill(body, sizeof(body), 5);
	put_hdr(hdr, 600, 0);
	assert_int_equal(feed_all(&rm, hdr, 4, &s), 0);
	assert_int_equal(feed_all(&rm, body, 600, &s), 0);
	put_hdr(hdr, 401, 1);
	assert_int_equal(feed_all(&rm, hdr, 3, &s), 0); /* header incomplete: no verdict yet */
	assert_int_equal(recmark_feed(&rm, hdr + 3, 1, &rec, &len), -EMSGSIZE);
	assert_int_equal(rm.len, 600); /* nothing of the oversize fragment was taken */
	assert_int_equal(s.n, 0);
	recmark_release(&rm);
}

static void test_truncated_stays_pending(void **state)
{
	uint8_t stream[64];
	struct recmark rm;
	struct sink s = {0};

	(void)state;
	put_hdr(stream, 20, 1);
	fill(stream + 4, 20, 0);

	recmark_init(&rm, 0);
	assert_false(recmark_mid_record(&rm));
	assert_int_equal(feed_all(&rm, stream, 2, &s), 0); /* half a header */
	assert_true(recmark_mid_record(&rm));
	assert_int_equal(feed_all(&rm, stream + 2, 2 + 19, &s), 0); /* one byte short */
	assert_int_equal(s.n, 0);
	assert_true(recmark_mid_record(&rm));
	assert_int_equal(feed_all(&rm, stream + 23, 1, &s), 0);
	assert_int_equal(s.n, 1);
	assert_false(recmark_mid_record(&rm));
	sink_free(&s);

	/* A complete non-last fragment is still only part of a record. */
	put_hdr(stream, 2, 0);
	assert_int_equal(feed_all(&rm, stream, 6, &s), 0);
	assert_int_equal(s.n, 0);
	assert_true(recmark_mid_record(&rm));
	recmark_release(&rm); /* frees the partial record (ASan checks) */
}

static void test_zero_length_fragments(void **state)
{
	uint8_t stream[64];
	size_t n = 0;
	struct recmark rm;
	struct sink s = {0};

	(void)state;
	/* 0 (not last), 0 (not last), "xy" (not last), 0 (last): the record is "xy". */
	n += put_hdr(stream + n, 0, 0);
	n += put_hdr(stream + n, 0, 0);
	n += put_hdr(stream + n, 2, 0);
	stream[n++] = 'x';
	stream[n++] = 'y';
	n += put_hdr(stream + n, 0, 1);
	/* Then an empty record: a lone zero-length last fragment. */
	n += put_hdr(stream + n, 0, 1);

	recmark_init(&rm, 0);
	assert_int_equal(feed_all(&rm, stream, n, &s), 0);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.len[0], 2);
	assert_memory_equal(s.rec[0], "xy", 2);
	assert_int_equal(s.len[1], 0);
	assert_non_null(s.rec[1]); /* "a record completed" even when it is empty */
	sink_free(&s);
	recmark_release(&rm);
}

static void test_huge_length_allocates_nothing_big(void **state)
{
	uint8_t stream[4 + 100];
	uint8_t *rec;
	size_t len;
	struct recmark rm;

	(void)state;
	/* Default bound: 0x7fffffff (last or not) is refused outright. */
	recmark_init(&rm, 0);
	put_hdr(stream, RECMARK_LEN_MASK, 1);
	assert_int_equal(recmark_feed(&rm, stream, 4, &rec, &len), -EMSGSIZE);
	assert_null(rm.buf);
	recmark_release(&rm);
	recmark_init(&rm, 0);
	put_hdr(stream, RECMARK_LEN_MASK, 0);
	assert_int_equal(recmark_feed(&rm, stream, 4, &rec, &len), -EMSGSIZE);
	recmark_release(&rm);

	/*
	 * Even with no practical bound, memory follows the bytes that arrive, not the
	 * header's claim: 100 bytes of a "2 GiB" fragment cost one small buffer.
	 */
	recmark_init(&rm, SIZE_MAX);
	assert_int_equal(rm.max_record, RECMARK_LEN_MASK);
	fill(stream + 4, 100, 0);
	assert_int_equal(recmark_feed(&rm, stream, sizeof(stream), &rec, &len), sizeof(stream));
	assert_null(rec);
	assert_int_equal(rm.len, 100);
	assert_true(rm.cap <= 64 * 1024);
	recmark_release(&rm);
}

static void test_large_record_growth(void **state)
{
	const size_t size = 1024 * 1024;
	uint8_t *payload = malloc(size), *stream = malloc(size + 4);
	size_t f[] = {size};
	struct recmark rm;
	struct sink s = {0};

	(void)state;
	assert_non_null(payload);
	assert_non_null(stream);
	fill(payload, size, 11);
	put_record(stream, payload, f, 1);
	recmark_init(&rm, 0);
	for (size_t off = 0; off < size + 4; off += 1000) {
		size_t n = size + 4 - off < 1000 ? size + 4 - off : 1000;

		assert_int_equal(feed_all(&rm, stream + off, n, &s), 0);
		/* Never more than twice what arrived (plus the first 64 KiB step). */
		assert_true(rm.cap <= 2 * rm.len + 64 * 1024);
	}
	assert_int_equal(s.n, 1);
	assert_int_equal(s.len[0], size);
	assert_memory_equal(s.rec[0], payload, size);
	sink_free(&s);
	recmark_release(&rm);
	free(payload);
	free(stream);
}

static void test_encode(void **state)
{
	uint8_t hdr[4], out[16];
	struct recmark rm;
	struct sink s = {0};

	(void)state;
	assert_int_equal(recmark_encode(hdr, 5), 0);
	assert_memory_equal(hdr, "\x80\x00\x00\x05", 4);
	assert_int_equal(recmark_encode(hdr, 0x7fffffff), 0);
	assert_memory_equal(hdr, "\xff\xff\xff\xff", 4);
	assert_int_equal(recmark_encode(hdr, 0x80000000u), -EMSGSIZE);

	assert_int_equal(recmark_frame(out, sizeof(out), "hello", 5), 9);
	assert_memory_equal(out, "\x80\x00\x00\x05hello", 9);
	assert_int_equal(recmark_frame(out, 8, "hello", 5), -ENOSPC);
	assert_int_equal(recmark_frame(out, 3, "", 0), -ENOSPC);
	assert_int_equal(recmark_frame(out, 4, "", 0), 4);

	/* What we encode, we decode. */
	assert_int_equal(recmark_frame(out, sizeof(out), "hello", 5), 9);
	recmark_init(&rm, 0);
	assert_int_equal(feed_all(&rm, out, 9, &s), 0);
	assert_int_equal(s.n, 1);
	assert_memory_equal(s.rec[0], "hello", 5);
	sink_free(&s);
	recmark_release(&rm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split_at_every_boundary),
		cmocka_unit_test(test_byte_at_a_time),
		cmocka_unit_test(test_stops_after_each_record),
		cmocka_unit_test(test_oversize_rejected_before_body),
		cmocka_unit_test(test_truncated_stays_pending),
		cmocka_unit_test(test_zero_length_fragments),
		cmocka_unit_test(test_huge_length_allocates_nothing_big),
		cmocka_unit_test(test_large_record_growth),
		cmocka_unit_test(test_encode),
	};
	return cmocka_run_group_tests_name("rpc_recmark", tests, NULL, NULL);
}
