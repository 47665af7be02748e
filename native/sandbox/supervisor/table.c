/* The policy table, as the front copied it from the plan (SANDBOX_* records). */
#include "supervisor.h"

#include <berth/wire.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "../../executor/wire.h"

static void copy_field(struct wcur *c, char *dst, size_t n)
{
	char *v = wcur_str(c);
	if (v) {
		strncpy(dst, v, n - 1);
		dst[n - 1] = 0;
	}
	free(v);
}

int table_load(struct sup *s, const uint8_t *msg, size_t len)
{
	struct wmsg m;
	if (wire_parse(msg, len, &m) < 0 || m.type != BERTH_MSG_SANDBOX_TABLE)
		return -1;
	size_t pos = 0;
	struct wrec r;
	int bad = 0;
	s->default_action = BERTH_SANDBOX_REFUSE;
	s->default_err = 38; /* ENOSYS */
	while (wire_next(&m, &pos, &r) == 1) {
		struct wcur c;
		wcur_init(&c, &r);
		switch (r.tag) {
		case BERTH_PLAN_SANDBOX: {
			free(wcur_str(&c));
			char *audit = wcur_str(&c);
			uint32_t n;
			wcur_bytes(&c, &n);
			s->arch = wcur_u32(&c);
			if (!c.bad && audit && *audit)
				s->audit = open(audit, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
			free(audit);
			break;
		}
		case BERTH_PLAN_SANDBOX_RULE: {
			uint32_t nr = wcur_u32(&c), action = wcur_u32(&c), err = wcur_u32(&c);
			char *name = wcur_str(&c);
			if (c.bad || nr >= TABLE_MAX_NR || !action || action > 255 || err > 4095) {
				free(name);
				bad = 1;
				break;
			}
			free(s->rules[nr].name);
			s->rules[nr] = (struct rule){ .action = (uint8_t)action, .err = (uint16_t)err, .name = name };
			break;
		}
		case BERTH_PLAN_SANDBOX_DEFAULT: {
			uint32_t action = wcur_u32(&c), err = wcur_u32(&c);
			s->default_action = (uint8_t)action;
			s->default_err = (uint16_t)err;
			break;
		}
		case BERTH_PLAN_SANDBOX_PATH: {
			char *prefix = wcur_str(&c);
			uint32_t deny = wcur_u32(&c), err = wcur_u32(&c);
			if (c.bad || !prefix || s->npaths >= MAX_PATH_RULES || err > 4095) {
				free(prefix);
				bad = 1;
				break;
			}
			s->paths[s->npaths++] = (struct path_rule){ .prefix = prefix, .len = strlen(prefix), .deny = deny, .err = (uint16_t)err };
			if (strncmp(prefix, "/proc", 5) && strncmp(prefix, "/sys", 4))
				s->paths_anywhere = 1;
			break;
		}
		case BERTH_PLAN_SANDBOX_UNAME:
			copy_field(&c, s->sysname, sizeof s->sysname);
			copy_field(&c, s->release, sizeof s->release);
			copy_field(&c, s->version, sizeof s->version);
			break;
		}
		if (c.bad)
			bad = 1;
	}
	wire_free(&m);
	return bad || s->audit < 0 || !s->arch ? -1 : 0;
}
