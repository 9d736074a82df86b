/*
 * hash: the byte-string hash of the storage caches (fd cache, page cache) and of the server's
 * keys built on them: FNV-1a over the bytes, then the murmur3 64-bit finalizer, so that both
 * the high bits (shard) and the low bits (bucket) are mixed.
 */
#ifndef SLUICE_HASH_H
#define SLUICE_HASH_H

#include <stddef.h>
#include <stdint.h>

static inline uint64_t hash_mix64(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return h;
}

static inline uint64_t hash_bytes(const void *p, size_t n)
{
	const unsigned char *k = p;
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < n; i++) {
		h ^= k[i];
		h *= 0x100000001b3ull;
	}
	return hash_mix64(h);
}

#endif
