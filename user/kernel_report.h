/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What this kernel gives the tracer, in words: the hook plan as --check
 * prints it, as the one note at start when something is missing, and as
 * fields of the first stats record.
 */
#ifndef TCPTRACE_KERNEL_REPORT_H
#define TCPTRACE_KERNEL_REPORT_H

#include <stdbool.h>
#include <stdio.h>
#include "hook_plan.h"

struct json;

/*
 * One line naming the missing hooks and what they take away, and the
 * caveats of the variants in use; "" when the kernel has it all.
 */
void kernel_report_note(const struct hook_plan *p, char *buf, size_t len);

/* The plan as JSON fields of the current object: "hooks", "kernel_features". */
void kernel_report_json(struct json *j, const struct hook_plan *p);

/* --check, as text: a line a hook, then what is unavailable. */
void kernel_report_text(FILE *out, const struct hook_plan *p, const char *kernel);

/* Are the diagnoses of every hook available (nothing missing)? */
bool kernel_report_complete(const struct hook_plan *p);

#endif /* TCPTRACE_KERNEL_REPORT_H */
