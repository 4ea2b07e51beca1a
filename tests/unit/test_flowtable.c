// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Unit tests of the bounded flow table (user/flowtable.c): its bucket array
 * follows the live entries, not the bound (a table sized for 65,536 flows
 * that holds ten costs a few hundred bytes, and gives back what a burst
 * took), and resizing loses no entry, no recency order, and no walk.
 */
#include <stdlib.h>
#include "flowtable.h"
#include "harness.h"

struct key {
	__u32 id;
	__u32 zero;
};

static void *put(struct flowtable *t, __u32 id)
{
	struct key k = { id, 0 };
	bool created;
	__u32 *v = flowtable_get(t, &k, &created);

	if (v && created)
		*v = id * 3;
	return v;
}

static __u32 *find(struct flowtable *t, __u32 id)
{
	struct key k = { id, 0 };

	return flowtable_lookup(t, &k);
}

/* Every id in [from, to) is there with its value. */
static bool all_there(struct flowtable *t, __u32 from, __u32 to)
{
	for (__u32 id = from; id < to; id++) {
		__u32 *v = find(t, id);

		if (!v || *v != id * 3)
			return false;
	}
	return true;
}

static void test_buckets_follow_count(struct test *t)
{
	struct flowtable *ft = flowtable_new(sizeof(struct key), sizeof(__u32), 65536, NULL, NULL);

	EXPECT(ft, "flowtable_new");
	/* Sized for 65,536: what the bound alone used to cost, 512 KiB. */
	EXPECT(flowtable_buckets(ft) <= 16, "%zu buckets, empty", flowtable_buckets(ft));
	for (__u32 id = 0; id < 1000; id++)
		EXPECT(put(ft, id), "insert %u", id);
	EXPECT_EQ(flowtable_count(ft), 1000);
	/* One entry a bucket at most, never more than twice that many buckets. */
	EXPECT(flowtable_buckets(ft) >= 1000 && flowtable_buckets(ft) <= 2048,
	       "%zu buckets for 1000 entries", flowtable_buckets(ft));
	EXPECT(all_there(ft, 0, 1000), "an entry lost in a resize");
	EXPECT(!find(ft, 1000), "an entry never put");
out:
	flowtable_free(ft);
}

static void test_shrinks_after_burst(struct test *t)
{
	struct flowtable *ft = flowtable_new(sizeof(struct key), sizeof(__u32), 65536, NULL, NULL);
	__u32 *v, *next, expect = 5000 - 10;

	EXPECT(ft, "flowtable_new");
	for (__u32 id = 0; id < 5000; id++)
		EXPECT(put(ft, id), "insert %u", id);
	EXPECT(flowtable_buckets(ft) >= 4096, "%zu buckets for 5000", flowtable_buckets(ft));
	/* The burst is over: all but the ten newest go. */
	for (__u32 id = 0; id < 5000 - 10; id++)
		flowtable_delete(ft, find(ft, id));
	EXPECT_EQ(flowtable_count(ft), 10);
	EXPECT(flowtable_buckets(ft) <= 128, "%zu buckets left for 10 entries",
	       flowtable_buckets(ft));
	EXPECT(all_there(ft, 5000 - 10, 5000), "a survivor lost in a shrink");
	/* Oldest first, as inserted. */
	for (v = flowtable_first(ft); v; v = next) {
		next = flowtable_next(ft, v);
		EXPECT_EQ(*v, expect * 3);
		expect++;
	}
	EXPECT_EQ(expect, 5000);
out:
	flowtable_free(ft);
}

/* A walk that deletes as it goes survives the shrinks it causes. */
static void test_walk_deleting(struct test *t)
{
	struct flowtable *ft = flowtable_new(sizeof(struct key), sizeof(__u32), 65536, NULL, NULL);
	__u32 *v, *next, seen = 0;

	EXPECT(ft, "flowtable_new");
	for (__u32 id = 0; id < 3000; id++)
		EXPECT(put(ft, id), "insert %u", id);
	for (v = flowtable_first(ft); v; v = next) {
		next = flowtable_next(ft, v);
		EXPECT_EQ(*v, seen * 3);
		seen++;
		if (seen % 2)
			flowtable_delete(ft, v);
	}
	EXPECT_EQ(seen, 3000);
	EXPECT_EQ(flowtable_count(ft), 1500);
	for (__u32 id = 0; id < 3000; id++)
		EXPECT((find(ft, id) != NULL) == (id % 2 == 1), "id %u after the walk", id);
	for (v = flowtable_first(ft); v; v = next) {
		next = flowtable_next(ft, v);
		flowtable_delete(ft, v);
	}
	EXPECT_EQ(flowtable_count(ft), 0);
	EXPECT(flowtable_buckets(ft) <= 16, "%zu buckets, emptied", flowtable_buckets(ft));
out:
	flowtable_free(ft);
}

/* At its bound the table evicts the oldest, and its array stops growing. */
static void test_bound(struct test *t)
{
	struct flowtable *ft = flowtable_new(sizeof(struct key), sizeof(__u32), 100, NULL, NULL);

	EXPECT(ft, "flowtable_new");
	for (__u32 id = 0; id < 1000; id++)
		EXPECT(put(ft, id), "insert %u", id);
	EXPECT_EQ(flowtable_count(ft), 100);
	EXPECT_EQ(flowtable_evictions(ft), 900);
	EXPECT_EQ(flowtable_buckets(ft), 128);
	EXPECT(all_there(ft, 900, 1000), "the newest hundred");
	EXPECT(!find(ft, 899), "the oldest evicted");
out:
	flowtable_free(ft);
}

/*
 * Churn at a steady size (flows come and go, as in the soak): the array
 * settles and stays, it does not resize back and forth.
 */
static void test_steady_churn(struct test *t)
{
	struct flowtable *ft = flowtable_new(sizeof(struct key), sizeof(__u32), 65536, NULL, NULL);
	size_t settled;

	EXPECT(ft, "flowtable_new");
	for (__u32 id = 0; id < 300; id++)
		EXPECT(put(ft, id), "insert %u", id);
	settled = flowtable_buckets(ft);
	for (__u32 id = 300; id < 100000; id++) {
		EXPECT(put(ft, id), "insert %u", id);
		flowtable_delete(ft, find(ft, id - 300));
		EXPECT(flowtable_buckets(ft) == settled, "%zu buckets at %u, was %zu",
		       flowtable_buckets(ft), id, settled);
	}
	EXPECT(all_there(ft, 100000 - 300, 100000), "the live 300");
out:
	flowtable_free(ft);
}

static const struct test_case cases[] = {
	{ "flowtable/buckets-follow-count", test_buckets_follow_count },
	{ "flowtable/shrinks-after-burst", test_shrinks_after_burst },
	{ "flowtable/walk-deleting", test_walk_deleting },
	{ "flowtable/bound", test_bound },
	{ "flowtable/steady-churn", test_steady_churn },
};

int main(int argc, char **argv)
{
	return run_tests(cases, sizeof(cases) / sizeof(cases[0]), argc, argv);
}
