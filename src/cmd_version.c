#include "config.h"

#include <stdio.h>

#include <event2/event.h>
#include <yaml.h>

#include "cmd.h"

const struct cmd_entry cmd_version_entry = {
	.name = "version",
	.usage = "",
	.summary = "Print the version and the library versions.",
	.exec = cmd_version,
};

int
cmd_version(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("svcproxy %s (libevent %s, libyaml %s%s)\n", PACKAGE_VERSION,
	    event_get_version(), yaml_get_version_string(),
#ifdef HAVE_OPENSSL
	    ", openssl"
#else
	    ""
#endif
	    );
	return 0;
}
