// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Unit tests of -o FILE (user/file_out.c): plain and gzip JSON lines, a
 * gzip file left by a writer killed with SIGKILL read up to its last tick,
 * and rotation by size and by age that loses, splits and repeats no
 * record.
 */
#include <dirent.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>
#include "file_out.h"
#include "harness.h"

#define SEC	1000000000ULL

static char dir[64];

static void dir_make(void)
{
	snprintf(dir, sizeof(dir), "/tmp/test_file_out.XXXXXX");
	if (!mkdtemp(dir))
		abort();
}

static void dir_remove(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd))
		fprintf(stderr, "cannot remove %s\n", dir);
}

/* What a file holds, decompressed as zcat would (concatenated members,
 * and a truncated stream up to where it stops); malloc'ed. */
static char *read_back(const char *path, size_t *len)
{
	gzFile g = gzopen(path, "rb");
	size_t cap = 1 << 16, have = 0;
	char *buf = malloc(cap + 1);
	int n;

	if (!g || !buf) {
		free(buf);
		if (g)
			gzclose(g);
		return NULL;
	}
	while ((n = gzread(g, buf + have, cap - have)) > 0) {
		have += n;
		if (have == cap)
			buf = realloc(buf, (cap *= 2) + 1);
	}
	gzclose(g);
	buf[have] = '\0';
	*len = have;
	return buf;
}

static void record(FILE *f, int i)
{
	fprintf(f, "{\"type\":\"conn\",\"n\":%d,\"pad\":\"%0*d\"}\n", i, 40 + i % 50, i);
	fflush(f);
}

static bool records_are(const char *text, int from, int to, char *why, size_t len)
{
	char want[256];
	const char *p = text;

	for (int i = from; i < to; i++) {
		snprintf(want, sizeof(want), "{\"type\":\"conn\",\"n\":%d,\"pad\":\"%0*d\"}\n", i,
			 40 + i % 50, i);
		if (strncmp(p, want, strlen(want))) {
			snprintf(why, len, "record %d: got '%.60s'", i, p);
			return false;
		}
		p += strlen(want);
	}
	if (*p) {
		snprintf(why, len, "more after record %d: '%.60s'", to - 1, p);
		return false;
	}
	return true;
}

static void roundtrip(struct test *t, const char *name)
{
	struct file_out_opts o = { 0 };
	struct file_out *f;
	char path[128], err[256], why[256];
	size_t len;
	char *text = NULL;

	dir_make();
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	o.path = path;
	f = file_out_open(&o, SEC, err, sizeof(err));
	EXPECT(f, "open: %s", err);
	for (int i = 0; i < 1000; i++) {
		record(file_out_stream(f), i);
		if (i % 100 == 99)
			file_out_tick(f, SEC + i);
	}
	EXPECT_EQ(file_out_close(f), 0);
	text = read_back(path, &len);
	EXPECT(text, "cannot read %s back", path);
	EXPECT(records_are(text, 0, 1000, why, sizeof(why)), "%s", why);
out:
	free(text);
	dir_remove();
}

static void test_plain(struct test *t)
{
	roundtrip(t, "out.json");
}

/* A clean close leaves a whole gzip file (zlib checks its trailer). */
static void test_gzip(struct test *t)
{
	char path[160], cmd[256];

	roundtrip(t, "out.json.gz");
	if (t->failed)
		return;
	/* And the real zcat agrees, with no complaint. */
	dir_make();
	snprintf(path, sizeof(path), "%s/z.json.gz", dir);
	{
		struct file_out_opts o = { .path = path };
		char err[256];
		struct file_out *f = file_out_open(&o, SEC, err, sizeof(err));

		EXPECT(f, "open: %s", err);
		record(file_out_stream(f), 1);
		EXPECT_EQ(file_out_close(f), 0);
	}
	snprintf(cmd, sizeof(cmd), "zcat '%s' 2>&1 | grep -q '\"n\":1,'", path);
	EXPECT(system(cmd) == 0, "zcat did not read it cleanly");
out:
	dir_remove();
}

/*
 * The writer killed with SIGKILL between ticks: the file holds exactly
 * the records up to its last tick, each whole (records after it were in
 * memory only). zcat reads them, then says the stream is cut short.
 */
static void test_gzip_sigkill(struct test *t)
{
	char path[160], err[256], why[256], cmd[512];
	size_t len;
	char *text = NULL;
	int status;
	pid_t pid;

	dir_make();
	snprintf(path, sizeof(path), "%s/killed.json.gz", dir);
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		struct file_out_opts o = { .path = path };
		struct file_out *f = file_out_open(&o, SEC, err, sizeof(err));

		if (!f)
			_exit(2);
		for (int i = 0; i < 300; i++) {
			record(file_out_stream(f), i);
			if (i == 99 || i == 249)
				file_out_tick(f, SEC * (i + 2));
		}
		raise(SIGKILL);
		_exit(3);
	}
	EXPECT(pid > 0 && waitpid(pid, &status, 0) == pid, "fork");
	EXPECT(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "status %d", status);
	text = read_back(path, &len);
	EXPECT(text, "cannot read %s back", path);
	EXPECT(records_are(text, 0, 250, why, sizeof(why)), "%s", why);
	snprintf(cmd, sizeof(cmd), "zcat '%s' 2>/dev/null | wc -l | grep -qx 250", path);
	EXPECT(system(cmd) == 0, "zcat does not read the 250 records of the last tick");
out:
	free(text);
	dir_remove();
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

/*
 * Every file of dir, archives (sorted by their start stamp) then the live
 * one, concatenated: the records in order, each once. *n_files: how many.
 */
static char *all_files(const char *live, int *n_files)
{
	struct dirent **names;
	size_t have = 0, len;
	char *all = calloc(1, 1), *one, path[512];
	int n = scandir(dir, &names, NULL, by_name);

	*n_files = 0;
	for (int i = 0; i < n; i++) {
		if (names[i]->d_name[0] != '.' && strcmp(names[i]->d_name, live)) {
			snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
			one = read_back(path, &len);
			all = realloc(all, have + len + 1);
			memcpy(all + have, one, len + 1);
			have += len;
			free(one);
			++*n_files;
		}
		free(names[i]);
	}
	free(names);
	snprintf(path, sizeof(path), "%s/%s", dir, live);
	one = read_back(path, &len);
	if (one) {
		all = realloc(all, have + len + 1);
		memcpy(all + have, one, len + 1);
		++*n_files;
	}
	free(one);
	return all;
}

/* Past the size a new file starts at the next record's end; none lost. */
static void rotate_by_size(struct test *t, const char *live, unsigned int min_rotations)
{
	struct file_out_opts o = { .rotate_bytes = 4096 };
	struct file_out *f;
	char path[160], err[256], why[256];
	char *all = NULL;
	int files;

	dir_make();
	snprintf(path, sizeof(path), "%s/%s", dir, live);
	o.path = path;
	f = file_out_open(&o, SEC, err, sizeof(err));
	EXPECT(f, "open: %s", err);
	for (int i = 0; i < 2000; i++) {
		record(file_out_stream(f), i);
		if (i % 50 == 49)
			file_out_tick(f, SEC + i);
	}
	EXPECT(file_out_rotations(f) >= min_rotations, "%u rotations", file_out_rotations(f));
	EXPECT_EQ(file_out_close(f), 0);
	all = all_files(live, &files);
	EXPECT(files >= (int)min_rotations + 1, "%d files", files);
	EXPECT(records_are(all, 0, 2000, why, sizeof(why)), "%d files: %s", files, why);
out:
	free(all);
	dir_remove();
}

static void test_rotate_size_plain(struct test *t)
{
	rotate_by_size(t, "conns.json", 40);
}

static void test_rotate_size_gzip(struct test *t)
{
	/* Compressed bytes count: the records shrink ~10 times. */
	rotate_by_size(t, "conns.json.gz", 2);
}

/* By age: at the tick past it, and never an empty file. */
static void test_rotate_age(struct test *t)
{
	struct file_out_opts o = { .rotate_ns = 10 * SEC };
	struct file_out *f;
	char path[160], err[256], why[256];
	char *all = NULL;
	int files;

	dir_make();
	snprintf(path, sizeof(path), "%s/t.json.gz", dir);
	o.path = path;
	f = file_out_open(&o, 100 * SEC, err, sizeof(err));
	EXPECT(f, "open: %s", err);
	record(file_out_stream(f), 0);
	file_out_tick(f, 105 * SEC);
	EXPECT_EQ(file_out_rotations(f), 0);
	record(file_out_stream(f), 1);
	file_out_tick(f, 110 * SEC);
	EXPECT_EQ(file_out_rotations(f), 1);
	file_out_tick(f, 125 * SEC);		/* nothing written: no empty file */
	EXPECT_EQ(file_out_rotations(f), 1);
	record(file_out_stream(f), 2);
	file_out_tick(f, 126 * SEC);		/* 16 s since the last rotation */
	EXPECT_EQ(file_out_rotations(f), 2);
	record(file_out_stream(f), 3);
	EXPECT_EQ(file_out_close(f), 0);
	all = all_files("t.json.gz", &files);
	EXPECT_EQ(files, 3);
	EXPECT(records_are(all, 0, 4, why, sizeof(why)), "%s", why);
out:
	free(all);
	dir_remove();
}

/* A path that cannot be written: no file, a reason naming it. */
static void test_unwritable(struct test *t)
{
	struct file_out_opts o = { .path = "/nonexistent-dir/x.json" };
	char err[256] = "";

	EXPECT(!file_out_open(&o, SEC, err, sizeof(err)), "opened");
	EXPECT(strstr(err, "cannot write /nonexistent-dir/x.json: No such file"), "err: %s", err);
out:
	return;
}

static const struct test_case tests[] = {
	TEST(test_plain),
	TEST(test_gzip),
	TEST(test_gzip_sigkill),
	TEST(test_rotate_size_plain),
	TEST(test_rotate_size_gzip),
	TEST(test_rotate_age),
	TEST(test_unwritable),
};

int main(int argc, char **argv)
{
	return RUN_TESTS(tests, argc, argv);
}
