// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Chained hash table plus a doubly linked recency list: the list head is the
 * least-recently-updated entry, the one a full table gives up. Entries are
 * allocated one by one and the bucket array follows their number (doubled
 * past one entry a bucket, halved under one in eight), so memory follows
 * the number of live flows rather than the bound. A bucket array sized for
 * the bound (512 KiB at 65,536) was untouched zero pages at the start that
 * became resident one by one as new keys hashed into them: RSS that grew
 * for hours at a steady load (the soak, service-a's tracer after 6
 * minutes: six such arrays 2.2 MiB resident, ~0.7 MiB of it since minute
 * 1, and half of three of them still to come; each held ten entries or fewer).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "flowtable.h"

/* The smallest bucket array: a table of a few entries costs 128 bytes. */
#define MIN_BUCKETS	16

struct ft_entry {
	struct ft_entry *chain;		/* next in the same bucket */
	struct ft_entry *older;		/* recency list */
	struct ft_entry *newer;
	__u64 hash;
	/* key, padded to 8 bytes, then the value */
	unsigned char data[] __attribute__((aligned(8)));
};

struct flowtable {
	size_t key_size;
	size_t key_span;		/* key_size rounded up: value alignment */
	size_t value_size;
	__u32 max_entries;
	__u32 count;
	__u64 evictions;
	size_t nbuckets;		/* power of two, MIN_BUCKETS..max_buckets */
	size_t max_buckets;		/* the power of two at or above max_entries */
	struct ft_entry **buckets;
	struct ft_entry *oldest;
	struct ft_entry *newest;
	flowtable_evict_fn evict;
	void *ctx;
};

/* Eight key bytes a step (every lookup of every flow each tick hashes a
 * 44-byte key: byte by byte it was most of a lookup's cost), each step
 * and a final mix spreading every byte into the low bits used as the
 * bucket index (keys that differ only in a port must not share them). */
static __u64 hash_key(const void *key, size_t len)
{
	const unsigned char *p = key;
	__u64 h = 0xcbf29ce484222325ULL ^ len, w;
	size_t i = 0;

	for (; i + 8 <= len; i += 8) {
		memcpy(&w, p + i, 8);
		h = (h ^ w) * 0x9e3779b97f4a7c15ULL;
		h ^= h >> 29;
	}
	if (i < len) {
		w = 0;
		memcpy(&w, p + i, len - i);
		h = (h ^ w) * 0x9e3779b97f4a7c15ULL;
		h ^= h >> 29;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return h;
}

static inline void *entry_key(struct ft_entry *en)
{
	return en->data;
}

static inline struct ft_entry *value_entry(const struct flowtable *t,
					   const void *value)
{
	return (struct ft_entry *)((const unsigned char *)value - t->key_span -
				   offsetof(struct ft_entry, data));
}

static inline void *value_of(const struct flowtable *t, struct ft_entry *en)
{
	return en->data + t->key_span;
}

struct flowtable *flowtable_new(size_t key_size, size_t value_size,
				__u32 max_entries, flowtable_evict_fn evict,
				void *ctx)
{
	struct flowtable *t;
	size_t n = 16;

	if (!key_size || !max_entries)
		return NULL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	/* One bucket per entry at most: chains stay short at the bound. */
	while (n < max_entries && n < ((size_t)1 << 30))
		n <<= 1;
	t->max_buckets = n;
	t->nbuckets = MIN_BUCKETS;
	t->buckets = calloc(t->nbuckets, sizeof(*t->buckets));
	if (!t->buckets) {
		free(t);
		return NULL;
	}
	t->key_size = key_size;
	t->key_span = (key_size + 7) & ~(size_t)7;
	t->value_size = value_size;
	t->max_entries = max_entries;
	t->evict = evict;
	t->ctx = ctx;
	return t;
}

void flowtable_free(struct flowtable *t)
{
	struct ft_entry *en, *next;

	if (!t)
		return;
	for (en = t->oldest; en; en = next) {
		next = en->newer;
		free(en);
	}
	free(t->buckets);
	free(t);
}

static struct ft_entry *find(const struct flowtable *t, const void *key,
			     __u64 h)
{
	struct ft_entry *en;

	for (en = t->buckets[h & (t->nbuckets - 1)]; en; en = en->chain)
		if (en->hash == h && !memcmp(entry_key(en), key, t->key_size))
			return en;
	return NULL;
}

static void list_unlink(struct flowtable *t, struct ft_entry *en)
{
	if (en->older)
		en->older->newer = en->newer;
	else
		t->oldest = en->newer;
	if (en->newer)
		en->newer->older = en->older;
	else
		t->newest = en->older;
	en->older = en->newer = NULL;
}

static void list_append(struct flowtable *t, struct ft_entry *en)
{
	en->older = t->newest;
	en->newer = NULL;
	if (t->newest)
		t->newest->newer = en;
	else
		t->oldest = en;
	t->newest = en;
}

/*
 * Every entry into a bucket array of n: the recency list holds them all,
 * and it is not touched (a walk under way goes on). Without memory for
 * the new array the old one stays: longer chains, nothing lost.
 */
static void rehash(struct flowtable *t, size_t n)
{
	struct ft_entry **b = calloc(n, sizeof(*b)), *en;

	if (!b)
		return;
	for (en = t->oldest; en; en = en->newer) {
		size_t i = en->hash & (n - 1);

		en->chain = b[i];
		b[i] = en;
	}
	free(t->buckets);
	t->buckets = b;
	t->nbuckets = n;
}

static void remove_entry(struct flowtable *t, struct ft_entry *en)
{
	struct ft_entry **pp = &t->buckets[en->hash & (t->nbuckets - 1)];

	while (*pp && *pp != en)
		pp = &(*pp)->chain;
	if (*pp)
		*pp = en->chain;
	list_unlink(t, en);
	t->count--;
	free(en);
	/* Halved under one entry in eight buckets: after a burst the array
	 * goes back to what is live, and a table near a size does not
	 * resize back and forth (it doubles again only at four times that). */
	if (t->nbuckets > MIN_BUCKETS && t->count < t->nbuckets / 8)
		rehash(t, t->nbuckets / 2);
}

void *flowtable_lookup(const struct flowtable *t, const void *key)
{
	struct ft_entry *en = find(t, key, hash_key(key, t->key_size));

	return en ? value_of(t, en) : NULL;
}

void *flowtable_get(struct flowtable *t, const void *key, bool *created)
{
	__u64 h = hash_key(key, t->key_size);
	struct ft_entry *en = find(t, key, h);
	size_t b;

	if (created)
		*created = false;
	if (en) {
		list_unlink(t, en);
		list_append(t, en);
		return value_of(t, en);
	}

	/* Evict before allocating: the callback may look at other entries
	 * and must never see a half-inserted one. */
	if (t->count >= t->max_entries && t->oldest) {
		struct ft_entry *victim = t->oldest;

		if (t->evict)
			t->evict(entry_key(victim), value_of(t, victim), t->ctx);
		remove_entry(t, victim);
		t->evictions++;
	}

	en = calloc(1, sizeof(*en) + t->key_span + t->value_size);
	if (!en)
		return NULL;
	if (t->count >= t->nbuckets && t->nbuckets < t->max_buckets)
		rehash(t, t->nbuckets * 2);
	memcpy(entry_key(en), key, t->key_size);
	en->hash = h;
	b = h & (t->nbuckets - 1);
	en->chain = t->buckets[b];
	t->buckets[b] = en;
	list_append(t, en);
	t->count++;
	if (created)
		*created = true;
	return value_of(t, en);
}

void flowtable_delete(struct flowtable *t, void *value)
{
	remove_entry(t, value_entry(t, value));
}

const void *flowtable_key(const struct flowtable *t, const void *value)
{
	return entry_key(value_entry(t, value));
}

void *flowtable_first(const struct flowtable *t)
{
	return t->oldest ? value_of(t, t->oldest) : NULL;
}

void *flowtable_next(const struct flowtable *t, const void *value)
{
	struct ft_entry *en = value_entry(t, value);

	return en->newer ? value_of(t, en->newer) : NULL;
}

__u32 flowtable_count(const struct flowtable *t)
{
	return t->count;
}

__u64 flowtable_evictions(const struct flowtable *t)
{
	return t->evictions;
}

size_t flowtable_buckets(const struct flowtable *t)
{
	return t->nbuckets;
}
