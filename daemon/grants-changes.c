/* How a change of the grant store reaches the disk before it reaches memory. Changes wait in a
 * queue; the ones that arrive while a write is in flight go together in the next one. A write
 * applies its changes to the shadow (the persistent grants as the file will hold them), writes
 * the shadow on the worker thread, and only once that is on disk applies the same changes to the
 * store that lookups read, and tells the callers. A write that fails changes nothing: the shadow
 * is rebuilt from the store for the next one. So the event loop never waits for the disk, and
 * what is answered as done is what a restart finds. */
#include "grants.h"

#include "grants-file.h"
#include "grants-table.h"
#include "log.h"
#include "util.h"

static void start_batch(GrantStore *s);

static GrantOp *op_free(GrantOp *op) {
        if (!op)
                return NULL;
        free(op->app_id);
        free(op->origin);
        strv_free(op->devices);
        free(op->owner);
        free(op);
        return NULL;
}

static int op_new(uid_t uid, const char *app_id, const char *origin, DeviceKind kind, char **devices,
                  GrantDoneFunc done, void *userdata, GrantOp **ret) {
        GrantOp *op;
        int r = 0;

        op = calloc(1, sizeof(GrantOp));
        if (!op)
                return -ENOMEM;
        *op = (GrantOp){
                .uid = uid,
                .kind = kind,
                .done = done,
                .userdata = userdata,
                .app_id = strdup(app_id),
                .origin = isempty(origin) ? NULL : strdup(origin),
        };
        if (!op->app_id || (!isempty(origin) && !op->origin))
                r = -ENOMEM;
        for (char **d = devices; r >= 0 && d && *d; d++)
                r = strv_extend(&op->devices, *d);
        if (r >= 0 && devices)
                r = grant_devices_normalize(op->devices);
        if (r < 0) {
                op_free(op);
                return r;
        }
        *ret = op;
        return 0;
}

static void submit(GrantStore *s, GrantOp *op) {
        *s->queued_tail = op;
        s->queued_tail = &op->next;
        if (!s->batch && !s->finishing)
                start_batch(s);
}

int grant_store_set(GrantStore *s, uid_t uid, const char *app_id, const char *origin, DeviceKind kind,
                    char **devices, GrantDecision decision, uint64_t expires_boottime_usec, const char *owner,
                    GrantDoneFunc done, void *userdata) {
        GrantOp *op;
        int r;

        r = grant_validate(uid, app_id, isempty(origin) ? NULL : origin, kind, decision);
        if (r < 0)
                return r;
        r = op_new(uid, app_id, origin, kind, devices, done, userdata, &op);
        if (r < 0)
                return r;
        op->decision = decision;
        op->expires = expires_boottime_usec;
        if (owner && !(op->owner = strdup(owner))) {
                op_free(op);
                return -ENOMEM;
        }
        submit(s, op);
        return 0;
}

int grant_store_revoke(GrantStore *s, uid_t uid, const char *app_id, const char *origin, DeviceKind kind,
                       char **devices, GrantDoneFunc done, void *userdata) {
        GrantOp *op;
        int r;

        if (uid == GRANT_UID_INVALID || isempty(app_id) || kind < 0 || kind >= _DEVICE_KIND_MAX)
                return -EINVAL;
        r = op_new(uid, app_id, origin, kind, devices, done, userdata, &op);
        if (r < 0)
                return r;
        op->revoke = true;
        submit(s, op);
        return 0;
}

/* Apply one change to a store: the shadow (persistent grants only, within the per-uid limit) or
 * the store lookups read (with the change callback). 1 or more when persistent grants changed. */
static int op_apply(GrantStore *t, GrantOp *op, bool shadow) {
        Grant *g;
        int r;

        if (op->revoke)
                return grant_store_remove(t, op->uid, op->app_id, op->origin, op->kind, op->devices);
        if (shadow && op->owner)
                return 0; /* lives in memory only */
        r = grant_store_put(t, op->uid, op->app_id, op->origin, op->kind, op->devices, op->decision, op->expires,
                            op->owner, shadow ? GRANTS_PER_UID_MAX : 0, &g);
        /* Expired grants do not count; the shadow forgets them only when it matters (a walk of
         * the whole shadow for every change would make a flood of changes quadratic). */
        if (r == -EDQUOT && grant_store_expire(t) > 0)
                r = grant_store_put(t, op->uid, op->app_id, op->origin, op->kind, op->devices, op->decision,
                                    op->expires, op->owner, GRANTS_PER_UID_MAX, &g);
        if (r > 0)
                grant_store_notify(t, GRANT_CHANGE_SET, g);
        return op->owner ? 0 : r;
}

/* The shadow equals the persistent, unexpired grants of s once the last write succeeded; after a
 * failure it is made again from s. */
static int shadow_prepare(GrantStore *s) {
        uint64_t now_boot = grant_store_now(s, CLOCK_BOOTTIME);
        HashmapIter it = {};
        GrantBucket *b;
        Grant *added;
        int r;

        if (s->shadow)
                return 0;
        s->shadow = grant_store_new_shadow(s);
        if (!s->shadow)
                return -ENOMEM;
        while (hashmap_iterate(s->buckets, &it, (void **) &b, NULL))
                for (Grant *g = b->grants; g; g = g->next) {
                        if (g->owner || grant_expired(g, now_boot))
                                continue;
                        r = grant_store_put(s->shadow, b->uid, b->app_id, b->origin, b->kind, g->devices,
                                            g->decision, g->expires, NULL, 0, &added);
                        if (r < 0) {
                                s->shadow = grant_store_free(s->shadow);
                                return r;
                        }
                }
        return 0;
}

/* The batch is on disk (error 0) or failed: commit the changes to memory or drop them, then tell
 * every caller, in order. */
static void finish_batch(GrantStore *s, int error) {
        GrantOp *batch = TAKE_PTR(s->batch);

        s->finishing = true;
        if (error < 0)
                s->shadow = grant_store_free(s->shadow);
        for (GrantOp *op = batch; op; op = op->next) {
                if (error < 0)
                        op->result = error;
                else if (op->result >= 0) {
                        op->result = op_apply(s, op, false);
                        if (op->result == -ENOMEM) {
                                /* The file has it, memory does not: the next write puts the file
                                 * back in line with memory. */
                                log_oom();
                                s->shadow = grant_store_free(s->shadow);
                        } else if (!op->revoke)
                                op->result = 0;
                }
        }
        for (GrantOp *op = batch, *next; op; op = next) {
                next = op->next;
                if (op->done)
                        op->done(op->result, op->userdata);
                op_free(op);
        }
        s->finishing = false;
        if (s->queued)
                start_batch(s);
}

static int write_in_background(void *userdata) {
        GrantStore *s = userdata;

        return grant_store_write_file(s, s->shadow, s->job.now_realtime, s->job.now_boottime);
}

static void write_done(int result, void *userdata) {
        GrantStore *s = userdata;

        if (result < 0)
                log_error_errno(result, "Failed to write %s/%s, the changes are not stored: %m", s->dir, GRANTS_FILE);
        finish_batch(s, result);
}

/* Take every queued change into one write. */
static void start_batch(GrantStore *s) {
        bool changed = false;
        int r;

        s->batch = TAKE_PTR(s->queued);
        s->queued_tail = &s->queued;
        /* A file that could not be read is never written over: read it again first. */
        if (s->load_error < 0 && grant_store_read_file(s) < 0) {
                log_error("Not storing grant changes: %s/%s could not be read.", s->dir, GRANTS_FILE);
                return finish_batch(s, -EIO);
        }

        r = shadow_prepare(s);
        if (r < 0)
                return finish_batch(s, r);
        for (GrantOp *op = s->batch; op; op = op->next) {
                r = op_apply(s->shadow, op, true);
                if (r == -EDQUOT)
                        op->result = r; /* this one alone fails; the others go on */
                else if (r < 0)
                        return finish_batch(s, r); /* the shadow is half changed: made again next time */
                else if (r > 0)
                        changed = true;
        }
        if (!changed || !s->dir)
                return finish_batch(s, 0); /* nothing to write, or a store in memory only */

        s->job = (GrantWriteJob){
                .now_realtime = grant_store_now(s, CLOCK_REALTIME),
                .now_boottime = grant_store_now(s, CLOCK_BOOTTIME),
        };
        if (!s->worker)
                return write_done(write_in_background(s), s);
        r = background_worker_start(s->worker, write_in_background, write_done, s);
        if (r < 0)
                finish_batch(s, r);
}

int grant_store_attach_event(GrantStore *s, sd_event *event) {
        if (s->worker)
                return -EBUSY;
        return background_worker_new(event, &s->worker);
}

bool grant_store_busy(GrantStore *s) {
        return s->batch || s->queued;
}

void grant_store_flush(GrantStore *s) {
        /* Each end of a write may start the next one with what waited meanwhile. */
        while (background_worker_busy(s->worker))
                background_worker_wait(s->worker);
}

void grant_store_cancel_changes(GrantStore *s) {
        GrantOp *ops[2] = { TAKE_PTR(s->batch), TAKE_PTR(s->queued) };

        s->queued_tail = &s->queued;
        for (size_t i = 0; i < ELEMENTSOF(ops); i++)
                for (GrantOp *op = ops[i], *next; op; op = next) {
                        next = op->next;
                        if (op->done)
                                op->done(-ECANCELED, op->userdata);
                        op_free(op);
                }
}
