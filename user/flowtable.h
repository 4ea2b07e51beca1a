/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A bounded hash table for per-flow state. When it is full, inserting a new
 * entry evicts the least-recently-updated one (never the one being
 * inserted), calls the owner back so nothing the entry held is lost
 * silently, and counts the eviction.
 *
 * The key is a fixed-size byte string (normally struct flow_key, whose
 * padding is kept zero so raw bytes hash and compare correctly); values are
 * zero-initialised blobs of a fixed size owned by the table.
 */
#ifndef TCPTRACE_FLOWTABLE_H
#define TCPTRACE_FLOWTABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

struct flowtable;

/* Called with the entry about to be evicted; it is freed right after. */
typedef void (*flowtable_evict_fn)(const void *key, void *value, void *ctx);

struct flowtable *flowtable_new(size_t key_size, size_t value_size,
				__u32 max_entries, flowtable_evict_fn evict,
				void *ctx);
void flowtable_free(struct flowtable *t);

/* The value stored under key, or NULL. Does not count as an update. */
void *flowtable_lookup(const struct flowtable *t, const void *key);
/*
 * The value stored under key, inserted zeroed if absent (evicting the
 * least-recently-updated entry when the table is full). Marks it updated.
 * NULL only when memory runs out.
 */
void *flowtable_get(struct flowtable *t, const void *key, bool *created);
/* Remove a value (no eviction callback, not counted as an eviction). */
void flowtable_delete(struct flowtable *t, void *value);
/* The key a value is stored under. */
const void *flowtable_key(const struct flowtable *t, const void *value);

/*
 * Walk from the least- to the most-recently-updated value. Deleting the
 * current value is safe when the next one was fetched first; touching
 * values while walking moves them to the end (they are visited again).
 */
void *flowtable_first(const struct flowtable *t);
void *flowtable_next(const struct flowtable *t, const void *value);

__u32 flowtable_count(const struct flowtable *t);
__u64 flowtable_evictions(const struct flowtable *t);
/* The bucket array's length now: it follows the count, not the bound. */
size_t flowtable_buckets(const struct flowtable *t);

#endif /* TCPTRACE_FLOWTABLE_H */
