// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * One host's view of its connections, read from its recording: what its
 * NIC counted of each flow, which segments its stack dropped and why, who
 * sent which reset, what its sockets held; and what the engine, fed the
 * same records as in the live run, concluded about each flow.
 */
#include <stdlib.h>
#include <string.h>
#include "correlate.h"
#include "flowtable.h"
#include "source_file.h"

/* Connections one host's view holds (its index is 8 bytes a slot, allocated up front). */
#ifndef VIEW_MAX_FLOWS
#define VIEW_MAX_FLOWS	(1u << 20)
#endif

struct view_ctx {
	struct chost *h;
	struct flowtable *index;	/* h->index */
};

/* The tuple a host is joined on: the namespace is that host's business. */
static struct flow_key tuple(const struct flow_key *k)
{
	struct flow_key t = *k;

	t.netns = 0;
	t._pad = 0;
	if (t.family == TT_AF_INET) {
		memset(t.laddr + 4, 0, 12);
		memset(t.raddr + 4, 0, 12);
	}
	return t;
}

static struct cflow *lookup(struct view_ctx *v, const struct flow_key *k, bool create)
{
	struct flow_key t = tuple(k);
	struct chost *h = v->h;
	__u32 *at;
	bool created = false;

	if ((t.family != TT_AF_INET && t.family != TT_AF_INET6) || !t.rport || !t.lport)
		return NULL;
	if (!create) {
		at = flowtable_lookup(v->index, &t);
		return at ? &h->flows[*at - 1] : NULL;
	}
	at = flowtable_get(v->index, &t, &created);
	if (!at)
		return NULL;
	if (!created)
		return &h->flows[*at - 1];
	if (h->n == h->cap) {
		size_t cap = h->cap ? 2 * h->cap : 256;
		struct cflow *f = realloc(h->flows, cap * sizeof(*f));

		if (!f) {
			flowtable_delete(v->index, at);
			return NULL;
		}
		h->flows = f;
		h->cap = cap;
	}
	memset(&h->flows[h->n], 0, sizeof(h->flows[h->n]));
	h->flows[h->n].key = t;
	*at = ++h->n;
	return &h->flows[h->n - 1];
}

static void seen(struct cflow *f, __u64 ts)
{
	if (!f->first_ns || ts < f->first_ns)
		f->first_ns = ts;
	if (ts > f->last_ns)
		f->last_ns = ts;
}

static void view_drop(struct chost *h, struct cflow *f, const struct tt_event *ev)
{
	bool first = !f->drops_in && !f->drops_out;

	if (ev->flags & EVF_INBOUND)
		f->drops_in++;
	else
		f->drops_out++;
	/* An inbound SYN with no socket yet: the server end of a handshake. */
	if ((ev->flags & EVF_INBOUND) && (ev->tcp_flags & (TT_TCP_SYN | TT_TCP_ACK)) == TT_TCP_SYN &&
	    !f->side)
		f->side = TT_SIDE_SERVER;
	if (!first)
		return;
	f->drop_reason = ev->reason;
	f->drop_flags = ev->tcp_flags;
	if (ev->reason < h->hdr.n_drop && h->hdr.drop_name[ev->reason][0]) {
		snprintf(f->drop_name, sizeof(f->drop_name), "%s", h->hdr.drop_name[ev->reason]);
		f->drop_named = true;
	}
}

static void view_event(struct view_ctx *v, const struct tt_event *ev)
{
	struct cflow *f;

	/* A process's death names no flow. */
	if (ev->type == EV_PROC_EXIT || ev->type == EV_OOM_VICTIM)
		return;
	f = lookup(v, &ev->key, true);
	if (!f)
		return;
	seen(f, ev->ts_ns);
	if (ev->side && ev->type != EV_DROP)
		f->side = ev->side;
	switch (ev->type) {
	case EV_STATE:
		if (ev->state == TT_TCP_SYN_SENT) {
			f->side = TT_SIDE_CLIENT;
			if (!f->syn_ns)
				f->syn_ns = ev->ts_ns;
		} else if (ev->state == TT_TCP_SYN_RECV && !f->side) {
			f->side = TT_SIDE_SERVER;
		} else if (ev->state == TT_TCP_ESTABLISHED) {
			f->established = true;
		} else if (ev->state == TT_TCP_CLOSE) {
			f->closed = true;
			for (unsigned int i = 0; i < sizeof(ev->path) && ev->path[i]; i++)
				f->established |= ev->path[i] == TT_TCP_ESTABLISHED;
			if (ev->bytes_received > f->bytes_received)
				f->bytes_received = ev->bytes_received;
		}
		break;
	case EV_RETRANS:
		if (ev->state == TT_TCP_SYN_SENT)
			f->syn_retrans++;
		break;
	case EV_SYNACK_RETRANS:
		f->synack_retrans++;
		if (!f->side)
			f->side = TT_SIDE_SERVER;
		break;
	case EV_RST_RX:
		f->rst_rx++;
		break;
	case EV_RST_TX:
		f->rst_tx++;
		f->rst_reason = ev->reason;
		f->rst_state = ev->state;
		f->rst_no_socket |= !!(ev->flags & EVF_NO_SOCKET);
		if (!(ev->flags & EVF_NO_SOCKET)) {
			f->rst_unread = ev->unread;
			f->rst_unsent = ev->unsent;
		}
		break;
	case EV_SK_ERROR:
	case EV_CONNECT_ERR:
		if (ev->err > 0)
			f->app_error = ev->err;
		break;
	case EV_DROP:
		view_drop(v->h, f, ev);
		break;
	default:
		break;
	}
}

static void view_scan(struct view_ctx *v, const struct tt_sock_scan *s, __u64 ts)
{
	struct cflow *f = lookup(v, &s->key, s->state != TT_TCP_LISTEN);

	if (!f)
		return;
	seen(f, ts);
	if (s->state == TT_TCP_ESTABLISHED)
		f->established = true;
	if (s->bytes_sent > f->bytes_sent)
		f->bytes_sent = s->bytes_sent;
	if (s->bytes_received > f->bytes_received)
		f->bytes_received = s->bytes_received;
}

static void view_nic(struct view_ctx *v, const struct flow_key *k, const struct nic_flow *nf)
{
	struct cflow *f = lookup(v, k, true);

	if (!f)
		return;
	for (int d = 0; d < NIC_DIRS; d++)
		if (nf->dir[d].first_ns) {
			seen(f, nf->dir[d].first_ns);
			seen(f, nf->dir[d].last_ns);
		}
	f->nic = *nf;
	f->has_nic = true;
	if (nf->dir[NIC_OUT].syn && f->side != TT_SIDE_SERVER)
		f->side = TT_SIDE_CLIENT;
	else if (nf->dir[NIC_IN].syn && !nf->dir[NIC_OUT].syn && !f->side)
		f->side = TT_SIDE_SERVER;
}

/* The engine's conclusions, by flow: the first flow of a folded one. */
static void on_diagnosis(const struct diagnosis *d, void *ctx)
{
	struct view_ctx *v = ctx;
	struct cflow *f = lookup(v, &d->key, false);
	long long waited;

	if (!f)
		return;
	f->codes |= 1u << d->code;
	if (d->severity >= SEV_WARNING)
		f->serious |= 1u << d->code;
	if (diag_evidence_get(d, "waited_ms", &waited) && waited > f->stall_ms)
		f->stall_ms = waited;
	if (d->has_drop_reason && d->drop_reason_name[0] && !f->drop_named) {
		snprintf(f->drop_name, sizeof(f->drop_name), "%s", d->drop_reason_name);
		f->drop_named = true;
	}
}

static void on_conn(const struct conn_record *c, void *ctx)
{
	struct view_ctx *v = ctx;
	struct cflow *f = lookup(v, &c->key, false);

	if (f)
		f->codes |= c->codes;
}

/*
 * A SYN-ACK that came from elsewhere than our SYN went (a DNAT whose reply
 * skipped it) has a NIC record of its own, keyed by where it came from;
 * it belongs to the connection whose SYN it answers.
 */
static void fold_nat_replies(struct view_ctx *v)
{
	struct chost *h = v->h;

	for (size_t i = 0; i < h->n; i++) {
		struct cflow *r = &h->flows[i], *c;
		struct flow_key k;

		if (!r->has_nic || !(r->nic.flags & NIC_F_STRAY_SYNACK) ||
		    !(r->nic.flags & NIC_F_SYN_MATCHED))
			continue;
		k = r->key;
		memcpy(k.raddr, r->nic.syn_raddr, sizeof(k.raddr));
		k.rport = r->nic.syn_rport;
		c = lookup(v, &k, false);
		if (!c || c == r)
			continue;
		/* lookup may not move the array: it did not create */
		c->nat_reply = true;
		memcpy(c->nat_addr, r->key.raddr, sizeof(c->nat_addr));
		c->nat_port = r->key.rport;
		r->stray = true;
		r->side = TT_SIDE_UNKNOWN;
	}
}

static void copy_header(struct chost *h, const struct rec_header *src)
{
	h->hdr = *src;
	h->hdr.drop_class = NULL;
	h->hdr.drop_name = NULL;
	if (!src->n_drop)
		return;
	h->hdr.drop_class = malloc(src->n_drop);
	h->hdr.drop_name = malloc(src->n_drop * sizeof(*src->drop_name));
	if (!h->hdr.drop_class || !h->hdr.drop_name) {
		free(h->hdr.drop_class);
		free(h->hdr.drop_name);
		h->hdr.drop_class = NULL;
		h->hdr.drop_name = NULL;
		h->hdr.n_drop = 0;
		return;
	}
	memcpy(h->hdr.drop_class, src->drop_class, src->n_drop);
	memcpy(h->hdr.drop_name, src->drop_name, src->n_drop * sizeof(*src->drop_name));
}

int chost_read(struct chost *h, const char *path, int argc, char **argv,
	       char *why, size_t why_len)
{
	struct view_ctx v = { .h = h };
	struct rec_reader *rd;
	struct engine_config cfg;
	struct engine *e = NULL;
	struct options o;
	struct rec_item it;
	__u64 tick = 0;
	bool finished = false;

	memset(h, 0, sizeof(*h));
	h->path = path;
	rd = rec_open(path, why, why_len);
	if (!rd)
		return -1;
	copy_header(h, rec_header(rd));
	o.mode = CLI_CORRELATE;
	file_source_options(rec_header(rd), argc, argv, &o);
	file_source_config(rec_header(rd), &o, &cfg);
	e = engine_new(&cfg);
	h->index = v.index = flowtable_new(sizeof(struct flow_key), sizeof(__u32),
					   VIEW_MAX_FLOWS, NULL, NULL);
	if (!e || !v.index) {
		snprintf(why, why_len, "out of memory");
		engine_free(e);
		chost_free(h);
		rec_close(rd);
		return -1;
	}
	engine_set_conn_sink(e, on_conn, &v);
	h->start_ns = rec_last_ts(rd);
	while (!finished && rec_next(rd, &it) > 0) {
		switch (it.type) {
		case REC_START:
			h->start_ns = it.ts_ns;
			break;
		case REC_EVENT:
			view_event(&v, &it.ev);
			engine_on_event(e, &it.ev);
			break;
		case REC_SOCKET:
			view_scan(&v, &it.sock, it.ts_ns);
			engine_on_scan(e, &it.sock, it.ts_ns);
			break;
		case REC_SCAN_END:
			engine_scan_end(e, it.ts_ns);
			break;
		case REC_NIC:
			view_nic(&v, &it.nic.key, &it.nic.nf);
			engine_on_nic(e, &it.nic.key, &it.nic.nf, it.ts_ns);
			break;
		case REC_TICK:
			tick = it.ts_ns;
			break;
		case REC_LOST:
			h->events_lost = it.lost;
			engine_note_lost(e, it.lost);
			engine_tick(e, tick, on_diagnosis, &v);
			break;
		case REC_FINISH:
			finished = true;
			break;
		default:
			break;
		}
	}
	h->end_ns = rec_last_ts(rd);
	engine_finish(e, h->end_ns, on_diagnosis, &v);
	while (rec_next(rd, &it) > 0)
		;
	fold_nat_replies(&v);
	h->status = rec_status(rd);
	h->whole = h->status == REC_OK && rec_finished(rd);
	snprintf(h->why, sizeof(h->why), "%s", rec_why(rd));
	engine_free(e);
	rec_close(rd);
	return 0;
}

void chost_free(struct chost *h)
{
	free(h->flows);
	flowtable_free(h->index);
	free(h->hdr.drop_class);
	free(h->hdr.drop_name);
	memset(h, 0, sizeof(*h));
}

struct cflow *chost_find(struct chost *h, __u16 family, const __u8 laddr[16], __u16 lport,
			 const __u8 raddr[16], __u16 rport)
{
	struct view_ctx v = { .h = h, .index = h->index };
	struct flow_key k = { .family = family, .lport = lport, .rport = rport };
	size_t len = family == TT_AF_INET ? 4 : 16;

	memcpy(k.laddr, laddr, len);
	memcpy(k.raddr, raddr, len);
	return h->index ? lookup(&v, &k, false) : NULL;
}
