// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Unit tests of option parsing (user/cli.c). cli_parse() exits on a usage
 * error, on --help and on --version, as a command line tool should; each
 * case runs it in a child process and looks at what it left: the exit
 * status, stdout, stderr, and the options when it returned.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
#include "cli.h"
#include "harness.h"

#define MAX_ARGS	48

struct parsed {
	bool returned;		/* cli_parse() came back: o holds the options */
	int status;		/* the child's exit status */
	struct options o;
	char out[16384];
	char err[4096];
};

/* Everything a pipe delivers until its writer is gone, NUL-terminated. */
static void read_all(int fd, char *buf, size_t len)
{
	size_t have = 0;
	ssize_t n;

	while (have + 1 < len && (n = read(fd, buf + have, len - 1 - have)) > 0)
		have += n;
	/* A reader that stops early must not block the writer: drain it. */
	while (have + 1 >= len && read(fd, (char[256]){0}, 256) > 0)
		;
	buf[have] = '\0';
}

/*
 * Parses "tcptrace-bpf ARGS..." in a child. The options hold pointers into
 * argv: the child's copy of the strings sits at the same addresses as the
 * parent's, so they stay valid here.
 */
static enum cli_mode parse_mode;	/* what parse() parses: live, or a subcommand */

static void parse(struct parsed *p, char *const *args)
{
	int out[2], err[2], res[2], wstatus;
	char *argv[MAX_ARGS + 2] = { "tcptrace-bpf" };
	int argc = 1;
	pid_t pid;

	memset(p, 0, sizeof(*p));
	for (; args[argc - 1] && argc <= MAX_ARGS; argc++)
		argv[argc] = args[argc - 1];
	if (pipe(out) || pipe(err) || pipe(res))
		abort();
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		abort();
	if (pid == 0) {
		struct options o;

		dup2(out[1], STDOUT_FILENO);
		dup2(err[1], STDERR_FILENO);
		close(out[0]);
		close(err[0]);
		close(res[0]);
		cli_parse_mode(argc, argv, &o, parse_mode);
		if (write(res[1], &o, sizeof(o)) != sizeof(o))
			_exit(99);
		fflush(NULL);
		_exit(0);
	}
	close(out[1]);
	close(err[1]);
	close(res[1]);
	read_all(out[0], p->out, sizeof(p->out));
	read_all(err[0], p->err, sizeof(p->err));
	p->returned = read(res[0], &p->o, sizeof(p->o)) == sizeof(p->o);
	close(out[0]);
	close(err[0]);
	close(res[0]);
	waitpid(pid, &wstatus, 0);
	p->status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
}

#define ARGS(...) ((char *const[]){ __VA_ARGS__, NULL })

/* The subcommands: their files, their options, what they refuse (exit 2). */
static void test_replay_correlate(struct test *t)
{
	struct parsed p;

	parse(&p, ARGS("-w", "/tmp/a.ttr"));
	EXPECT(p.returned && p.o.record_path && !strcmp(p.o.record_path, "/tmp/a.ttr") &&
	       p.o.mode == CLI_LIVE, "-w: status %d, %s", p.status, p.err);
	parse(&p, ARGS("-w", ""));
	EXPECT(p.status == 2 && strstr(p.err, "-w needs a file name"), "-w '': %s", p.err);
	parse(&p, ARGS("a.ttr"));
	EXPECT(p.status == 2 && strstr(p.err, "unexpected argument 'a.ttr'"), "live FILE: %s", p.err);
	parse_mode = CLI_REPLAY;
	parse(&p, ARGS("a.ttr", "-j", "--stall-ms", "500", "-o", "out.json"));
	EXPECT(p.returned, "replay: status %d, %s", p.status, p.err);
	EXPECT(p.o.mode == CLI_REPLAY && p.o.n_files == 1 && !strcmp(p.o.files[0], "a.ttr"),
	       "replay's file");
	EXPECT(p.o.json && p.o.stall_ms == 500 && p.o.output_path, "replay's options");
	parse(&p, ARGS("-j"));
	EXPECT(p.status == 2 && strstr(p.err, "replay needs a recording"), "no file: %s", p.err);
	parse(&p, ARGS("a.ttr", "b.ttr"));
	EXPECT(p.status == 2 && strstr(p.err, "unexpected argument 'b.ttr'"), "two: %s", p.err);
	parse(&p, ARGS("a.ttr", "--netns", "/run/netns/x"));
	EXPECT(p.status == 2 && strstr(p.err, "--netns is for live tracing"), "--netns: %s", p.err);
	parse(&p, ARGS("a.ttr", "--interval", "100"));
	EXPECT(p.status == 2 && strstr(p.err, "--interval is for live tracing"), "%s", p.err);
	parse(&p, ARGS("a.ttr", "--metrics", "9100"));
	EXPECT(p.status == 2 && strstr(p.err, "--metrics is for live tracing"), "%s", p.err);
	parse_mode = CLI_CORRELATE;
	parse(&p, ARGS("a.ttr"));
	EXPECT(p.status == 2 && strstr(p.err, "correlate needs two recordings"), "one: %s", p.err);
	parse(&p, ARGS("a.ttr", "b.ttr", "-j"));
	EXPECT(p.returned && p.o.n_files == 2 && !strcmp(p.o.files[1], "b.ttr") && p.o.json,
	       "correlate: status %d, %s", p.status, p.err);
	parse(&p, ARGS("a.ttr", "b.ttr", "c.ttr"));
	EXPECT(p.status == 2 && strstr(p.err, "unexpected argument 'c.ttr'"), "three: %s", p.err);
	parse(&p, ARGS("a.ttr", "b.ttr", "-w", "c.ttr"));
	EXPECT(p.status == 2 && strstr(p.err, "-w/--record is for live tracing"), "%s", p.err);
out:
	parse_mode = CLI_LIVE;
}

static void test_defaults(struct test *t)
{
	struct parsed p;

	parse(&p, (char *const[]){ NULL });
	EXPECT(p.returned, "status %d, stderr: %s", p.status, p.err);
	EXPECT_EQ(p.status, 0);
	EXPECT_STR(p.err, "");
	EXPECT_EQ(p.o.interval_ms, 1000);
	EXPECT_EQ(p.o.stall_ms, 5000);
	EXPECT_EQ(p.o.loss_pct, 2);
	EXPECT_EQ(p.o.syn_retrans, 2);
	EXPECT_EQ(p.o.fold_s, 60);
	EXPECT_EQ(p.o.conn_interval_s, 60);
	EXPECT_EQ(p.o.max_flows, 65536);
	EXPECT_EQ(p.o.metrics_port, 0);
	EXPECT_EQ(p.o.metrics_max_endpoints, 500);
	EXPECT_EQ(p.o.metrics_ttl_s, 300);
	EXPECT_EQ(p.o.duration_ms, 0);
	EXPECT_EQ(p.o.port, 0);
	EXPECT_EQ(p.o.host_family, 0);
	EXPECT_EQ(p.o.pid, 0);
	EXPECT_EQ(p.o.n_ifaces, 0);
	EXPECT_EQ(p.o.nic_kind, NIC_KIND_AUTO);
	EXPECT(!p.o.netns_path && !p.o.json && !p.o.verbose && !p.o.prog_stats && !p.o.conns &&
	       !p.o.classic && !p.o.no_ingress && !p.o.no_nic, "a flag set by default");
out:
	return;
}

static void test_every_option(struct test *t)
{
	struct parsed p;
	__u8 want[16] = {0};

	parse(&p, ARGS("--netns", "/run/netns/a", "-p", "8080", "-H", "10.0.2.10",
		       "--pid", "4242", "-j", "-d", "30", "--interval", "500",
		       "--stall-ms", "2000", "--loss-pct", "5", "--syn-retrans", "3",
		       "--fold-s", "10", "--conn-interval", "0", "--max-flows", "1000",
		       "--prog-stats", "--classic", "-v", "--conns", "-i", "eth0",
		       "--interface", "eth1", "--no-ingress", "--tc",
		       "-o", "/var/log/tt.json.gz", "--rotate", "100M", "--rotate-s", "3600",
		       "--metrics", "[::]:9100", "--metrics-max-endpoints", "50",
		       "--metrics-ttl", "60"));
	EXPECT(p.returned, "status %d, stderr: %s", p.status, p.err);
	EXPECT_STR(p.o.netns_path, "/run/netns/a");
	EXPECT_EQ(p.o.port, 8080);
	EXPECT_EQ(p.o.host_family, AF_INET);
	inet_pton(AF_INET, "10.0.2.10", want);
	EXPECT(!memcmp(p.o.host_addr, want, sizeof(want)), "host address");
	EXPECT_STR(p.o.host_str, "10.0.2.10");
	EXPECT_EQ(p.o.pid, 4242);
	EXPECT(p.o.json && p.o.verbose && p.o.prog_stats && p.o.classic && p.o.conns, "flags");
	EXPECT_EQ(p.o.duration_ms, 30000);
	EXPECT_EQ(p.o.interval_ms, 500);
	EXPECT_EQ(p.o.stall_ms, 2000);
	EXPECT_EQ(p.o.loss_pct, 5);
	EXPECT_EQ(p.o.syn_retrans, 3);
	EXPECT_EQ(p.o.fold_s, 10);
	EXPECT_EQ(p.o.conn_interval_s, 0);
	EXPECT_EQ(p.o.max_flows, 1000);
	EXPECT_EQ(p.o.n_ifaces, 2);
	EXPECT_STR(p.o.ifaces[0], "eth0");
	EXPECT_STR(p.o.ifaces[1], "eth1");
	EXPECT(p.o.no_ingress && !p.o.no_nic, "ingress flags");
	EXPECT_EQ(p.o.nic_kind, NIC_KIND_TC);
	EXPECT_STR(p.o.output_path, "/var/log/tt.json.gz");
	EXPECT_EQ(p.o.rotate_bytes, 100ULL << 20);
	EXPECT_EQ(p.o.rotate_s, 3600);
	EXPECT_STR(p.o.metrics_addr, "::");
	EXPECT_EQ(p.o.metrics_port, 9100);
	EXPECT_EQ(p.o.metrics_max_endpoints, 50);
	EXPECT_EQ(p.o.metrics_ttl_s, 60);
out:
	return;
}

/* --metrics: a port alone is on loopback; an address is a literal. */
static void test_metrics_addresses(struct test *t)
{
	static const struct { const char *arg, *addr; int port; } cases[] = {
		{ "9100", "127.0.0.1", 9100 }, { "0.0.0.0:9100", "0.0.0.0", 9100 },
		{ "10.0.0.5:1", "10.0.0.5", 1 }, { "[::1]:65535", "::1", 65535 },
		{ "[fd00:1::5]:9100", "fd00:1::5", 9100 },
	};
	struct parsed p;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		parse(&p, ARGS("--metrics", (char *)cases[i].arg));
		EXPECT(p.returned, "%s: status %d, stderr: %s", cases[i].arg, p.status, p.err);
		EXPECT(!strcmp(p.o.metrics_addr, cases[i].addr) && p.o.metrics_port == cases[i].port,
		       "%s: %s port %u", cases[i].arg, p.o.metrics_addr, p.o.metrics_port);
	}
out:
	return;
}

/* Sizes in bytes or binary units. */
static void test_rotate_sizes(struct test *t)
{
	static const struct { const char *arg; unsigned long long bytes; } cases[] = {
		{ "4096", 4096 }, { "512k", 512ULL << 10 }, { "64KiB", 64ULL << 10 },
		{ "100M", 100ULL << 20 }, { "2G", 2ULL << 30 }, { "1GB", 1ULL << 30 },
	};
	struct parsed p;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		parse(&p, ARGS("-o", "x.json", "--rotate", (char *)cases[i].arg));
		EXPECT(p.returned, "%s: status %d, stderr: %s", cases[i].arg, p.status, p.err);
		EXPECT(p.o.rotate_bytes == cases[i].bytes, "%s: %llu", cases[i].arg,
		       (unsigned long long)p.o.rotate_bytes);
	}
out:
	return;
}

static void test_host_ipv6(struct test *t)
{
	struct parsed p;
	__u8 want[16];

	parse(&p, ARGS("-H", "fd00:2::10"));
	EXPECT(p.returned, "status %d, stderr: %s", p.status, p.err);
	EXPECT_EQ(p.o.host_family, AF_INET6);
	inet_pton(AF_INET6, "fd00:2::10", want);
	EXPECT(!memcmp(p.o.host_addr, want, sizeof(want)), "host address");
out:
	return;
}

/* The ends of each range are taken. */
static void test_range_ends(struct test *t)
{
	struct parsed p;

	parse(&p, ARGS("-p", "1", "--loss-pct", "0", "--fold-s", "0",
		       "--interval", "10", "--max-flows", "64", "--syn-retrans", "100"));
	EXPECT(p.returned, "status %d, stderr: %s", p.status, p.err);
	EXPECT_EQ(p.o.port, 1);
	EXPECT_EQ(p.o.loss_pct, 0);
	EXPECT_EQ(p.o.fold_s, 0);
	EXPECT_EQ(p.o.interval_ms, 10);
	EXPECT_EQ(p.o.max_flows, 64);
	EXPECT_EQ(p.o.syn_retrans, 100);
	parse(&p, ARGS("-p", "65535", "--loss-pct", "100", "--interval", "600000"));
	EXPECT(p.returned, "status %d, stderr: %s", p.status, p.err);
	EXPECT_EQ(p.o.port, 65535);
	EXPECT_EQ(p.o.loss_pct, 100);
	EXPECT_EQ(p.o.interval_ms, 600000);
out:
	return;
}

static void test_xdp_kinds(struct test *t)
{
	struct parsed p;

	parse(&p, ARGS("--xdp"));
	EXPECT(p.returned && p.o.nic_kind == NIC_KIND_XDP, "--xdp: %s", p.err);
	parse(&p, ARGS("--xdp-generic", "--xdp-generic"));
	EXPECT(p.returned && p.o.nic_kind == NIC_KIND_XDP_GENERIC,
	       "--xdp-generic twice: %s", p.err);
	parse(&p, ARGS("--no-nic"));
	EXPECT(p.returned && p.o.no_nic, "--no-nic: %s", p.err);
out:
	return;
}

/* Each usage error: exit 2, one line naming what is wrong. */
static void test_usage_errors(struct test *t)
{
	static const struct {
		char *const args[6];
		const char *says;
	} cases[] = {
		{ { "--bogus" }, "unrecognized option" },
		{ { "foo" }, "unexpected argument 'foo'" },
		{ { "-p", "0" }, "invalid port '0': expected a number from 1 to 65535" },
		{ { "-p", "70000" }, "invalid port '70000'" },
		{ { "-p", "http" }, "invalid port 'http'" },
		{ { "-p", "80x" }, "invalid port '80x'" },
		{ { "-p", "" }, "invalid port ''" },
		{ { "-H", "service-b" }, "invalid host 'service-b': expected an IPv4 or IPv6 address" },
		{ { "--pid", "0" }, "invalid pid '0'" },
		{ { "-d", "-5" }, "invalid duration '-5'" },
		{ { "--interval", "1" }, "invalid interval '1'" },
		{ { "--stall-ms", "0" }, "invalid stall-ms '0'" },
		{ { "--loss-pct", "101" }, "invalid loss-pct '101'" },
		{ { "--syn-retrans", "0" }, "invalid syn-retrans '0'" },
		{ { "--fold-s", "86401" }, "invalid fold-s '86401'" },
		{ { "--conn-interval", "-1" }, "invalid conn-interval '-1'" },
		{ { "--max-flows", "10" }, "invalid max-flows '10'" },
		{ { "-i", "" }, "invalid interface name ''" },
		{ { "-i", "a-name-far-too-long" }, "invalid interface name 'a-name-far-too-long'" },
		{ { "--tc", "--xdp" }, "--tc, --xdp and --xdp-generic exclude each other" },
		{ { "--xdp", "--xdp-generic" }, "exclude each other" },
		{ { "--no-nic", "-i", "eth0" }, "--no-nic excludes -i, --tc, --xdp and --no-ingress" },
		{ { "--no-nic", "--no-ingress" }, "--no-nic excludes" },
		{ { "--no-ingress", "--xdp" }, "--no-ingress excludes --xdp: XDP is ingress only" },
		{ { "-p" }, "requires an argument" },
		{ { "-o", "" }, "invalid output file ''" },
		{ { "--rotate", "1M" }, "--rotate and --rotate-s need -o FILE" },
		{ { "--rotate-s", "60" }, "--rotate and --rotate-s need -o FILE" },
		{ { "-o", "x", "--rotate", "10" }, "invalid rotate size '10': expected bytes, at least 4096" },
		{ { "-o", "x", "--rotate", "5T" }, "invalid rotate size '5T'" },
		{ { "-o", "x", "--rotate", "-1M" }, "invalid rotate size '-1M'" },
		{ { "-o", "x", "--rotate-s", "0" }, "invalid rotate-s '0'" },
		{ { "--metrics", "0" }, "invalid metrics port '0': expected a number from 1 to 65535" },
		{ { "--metrics", "127.0.0.1:99999" }, "invalid metrics port '99999'" },
		{ { "--metrics", "127.0.0.1:" }, "invalid metrics port ''" },
		{ { "--metrics", "myhost:9100" }, "invalid metrics address 'myhost:9100'" },
		{ { "--metrics", "::1:9100" }, "write IPv6 as [ADDR]:PORT" },
		{ { "--metrics", "[::1:9100" }, "expected [IPv6]:PORT" },
		{ { "--metrics", "[zz]:9100" }, "not an IPv6 address" },
		{ { "--metrics-max-endpoints", "0" }, "invalid metrics-max-endpoints '0'" },
		{ { "--metrics-ttl", "0" }, "invalid metrics-ttl '0'" },
	};
	struct parsed p;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		parse(&p, cases[i].args);
		EXPECT(!p.returned && p.status == EXIT_USAGE,
		       "%s: returned %d, status %d", cases[i].args[0], p.returned, p.status);
		EXPECT(strstr(p.err, cases[i].says), "%s %s: stderr does not say '%s': %s",
		       cases[i].args[0], cases[i].args[1] ? cases[i].args[1] : "",
		       cases[i].says, p.err);
		EXPECT(!strncmp(p.err, "tcptrace-bpf: ", 14), "not named: %s", p.err);
		EXPECT_STR(p.out, "");
	}
out:
	return;
}

static void test_interfaces_bounded(struct test *t)
{
	char *args[2 * (MAX_IFACES + 1) + 1];
	char names[MAX_IFACES + 1][16];	/* "veth%d" of any int: gcc -O1 checks it */
	struct parsed p;
	int n = 0;

	for (int i = 0; i <= MAX_IFACES; i++) {
		snprintf(names[i], sizeof(names[i]), "veth%d", i);
		args[n++] = "-i";
		args[n++] = names[i];
	}
	args[n - 2] = NULL;	/* MAX_IFACES of them: taken */
	parse(&p, args);
	EXPECT(p.returned, "status %d, stderr: %s", p.status, p.err);
	EXPECT_EQ(p.o.n_ifaces, MAX_IFACES);
	args[n - 2] = "-i";	/* one more: refused */
	args[n] = NULL;
	parse(&p, args);
	EXPECT(!p.returned && p.status == EXIT_USAGE, "status %d", p.status);
	EXPECT(strstr(p.err, "too many interfaces: at most 16"), "stderr: %s", p.err);
out:
	return;
}

/* --help: exit 0, the doc's usage and examples, and every default stated. */
static void test_help(struct test *t)
{
	static const char *const says[] = {
		"USAGE: tcptrace-bpf [OPTIONS]", "EXAMPLES:", "--stall-ms=MS",
		"(default 5000)", "(default 1000)", "(default 2)", "(default 65536)",
		"default 60", "--netns=PATH", "--xdp-generic", "--user=USER",
	};
	struct parsed p;

	parse(&p, ARGS("--help"));
	EXPECT(!p.returned && p.status == EXIT_DONE, "status %d", p.status);
	for (size_t i = 0; i < sizeof(says) / sizeof(says[0]); i++)
		EXPECT(strstr(p.out, says[i]), "--help does not say '%s'", says[i]);
out:
	return;
}

static void test_version(struct test *t)
{
	struct parsed p;

	parse(&p, ARGS("--version"));
	EXPECT(!p.returned && p.status == EXIT_DONE, "status %d", p.status);
	EXPECT_STR(p.out, "tcptrace-bpf " TCPTRACE_VERSION "\n");
out:
	return;
}

/* --user: a name from the password database, or a uid that may have none. */
static void test_user(struct test *t)
{
	struct parsed p;

	parse(&p, ARGS("--user", "root"));
	EXPECT(p.returned, "status %d, stderr: %s", p.status, p.err);
	EXPECT_STR(p.o.user, "root");
	EXPECT_EQ(p.o.uid, 0);
	EXPECT_EQ(p.o.gid, 0);
	/* no name: its own number for a group */
	parse(&p, ARGS("--user", "4000000000"));
	EXPECT(p.returned, "status %d, stderr: %s", p.status, p.err);
	EXPECT_EQ(p.o.uid, 4000000000u);
	EXPECT_EQ(p.o.gid, 4000000000u);
	parse(&p, ARGS("--user", "no-such-user-here"));
	EXPECT(!p.returned && p.status == EXIT_USAGE, "status %d", p.status);
	EXPECT(strstr(p.err, "unknown user 'no-such-user-here'"), "stderr: %s", p.err);
	parse(&p, ARGS("--user", "-1"));
	EXPECT(!p.returned && p.status == EXIT_USAGE, "status %d", p.status);
	parse(&p, ARGS("--user", ""));
	EXPECT(!p.returned && p.status == EXIT_USAGE, "status %d", p.status);
out:
	return;
}

static const struct test_case tests[] = {
	TEST(test_defaults),
	TEST(test_replay_correlate),
	TEST(test_every_option),
	TEST(test_rotate_sizes),
	TEST(test_metrics_addresses),
	TEST(test_host_ipv6),
	TEST(test_range_ends),
	TEST(test_xdp_kinds),
	TEST(test_usage_errors),
	TEST(test_interfaces_bounded),
	TEST(test_help),
	TEST(test_version),
	TEST(test_user),
};

int main(int argc, char **argv)
{
	return RUN_TESTS(tests, argc, argv);
}
