/* berth-sandbox, the runtime side (linked into the front and the shim):
 * starting the supervisor before the clone, and loading the notify filter
 * in the container process. The supervisor itself is in supervisor/. */
#ifndef BERTH_SANDBOX_H
#define BERTH_SANDBOX_H

#include "../executor/executor.h"

/* The container process's end of the supervisor socket (-1: no sandbox).
 * Set by the front before the clone; B inherits it. */
extern int sandbox_sock;

/* Front: with a SANDBOX record, starts the supervisor (detached), hands it
 * the plan's SANDBOX_* records and waits for its acknowledgement. */
int sandbox_start(const struct plan *p, struct failure *f);
/* Front: after the clone, the container process holds the only copy. */
void sandbox_forget(void);
/* Container process: loads the notify filter at its point (late = just
 * before execve, when the plan sets no_new_privs; else with the early
 * seccomp, before the capability drop) and sends the listener over. */
int sandbox_load(const struct plan *p, int late, struct failure *f);

#endif
