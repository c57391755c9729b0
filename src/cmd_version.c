#include "config.h"

#include <stdio.h>

#include <event2/event.h>
#include <yaml.h>

#include "cmd.h"

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
