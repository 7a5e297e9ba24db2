/* Health reports to the Windows host: not built yet (issue 3). */
#include <json-c/json.h>

#include "agent.h"

struct health *
health_new(struct agent *a)
{
	log_notice("health", "host reporting is off");
	return NULL;
}

void
health_state_changed(struct health *h)
{
}

struct json_object *
health_status_json(struct health *h)
{
	return NULL;
}

void
health_free(struct health *h)
{
}
