// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "cli.h"
#include "correlate.h"
#include "report.h"

int correlate_main(int argc, char **argv)
{
	struct options o;

	cli_parse_mode(argc, argv, &o, CLI_CORRELATE);
	report_error("correlate: not written yet");
	return EXIT_RUNTIME;
}
