/* What the tray shows for an indicator state: Passive, Active or NeedsAttention, the icon, the
 * title and the tooltip that names the apps; in the user's language. */
#include <stdlib.h>

#include "indicator.h"

void look_done(Look *l) {
        free(l->title);
        free(l->description);
        *l = (Look) {};
}

static char *title_for(const char *camera, const char *microphone, const char *both, bool c, bool m) {
        return strdup(c && m ? both : c ? camera : microphone);
}

static const char *state_word(bool accessible, bool live) {
        return live ? _("live") : accessible ? _("accessible") : _("off");
}

/* The tooltip body may hold markup (the specification allows a subset of HTML): app ids and
 * origins come from other programs, so they are escaped. */
static char *describe(const IndicatorState *s) {
        _cleanup_free_ char *body = NULL;
        size_t size = 0;
        FILE *f;

        f = open_memstream(&body, &size);
        if (!f)
                return NULL;
        fprintf(f, _("Camera: %s%s\nMicrophone: %s%s"), state_word(s->camera_accessible, s->camera_live),
                s->camera_muted ? _(" (muted)") : "", state_word(s->microphone_accessible, s->microphone_live),
                s->microphone_muted ? _(" (muted)") : "");
        for (size_t i = 0; i < s->n_clients; i++) {
                const StateClient *c = &s->clients[i];

                fputc('\n', f);
                fput_markup_escaped(f, c->app_id);
                if (!isempty(c->origin)) {
                        fputs(" for ", f);
                        fput_markup_escaped(f, c->origin);
                }
                fprintf(f, ": %s %s", streq(c->kind, "camera") ? _("camera") : _("microphone"),
                        c->accessible || c->live ? state_word(c->accessible, c->live) : _("ended"));
        }
        if (fclose(f) != 0)
                return NULL;
        return TAKE_PTR(body);
}

int look_compute(const IndicatorState *s, bool daemon_present, Look *ret) {
        bool camera_on = s->camera_accessible || s->camera_live, microphone_on = s->microphone_accessible || s->microphone_live;
        Look l = { .status = "Passive", .icon = "camera-web-symbolic" };

        if (!daemon_present) {
                l.title = strdup(_("Camera and microphone: mediagated is not running"));
                l.description = strdup(_("No app can use the camera or the microphone through mediagated."));
        } else {
                if (s->camera_live || s->microphone_live) {
                        l.status = "NeedsAttention";
                        l.icon = s->camera_live ? "camera-web" : "audio-input-microphone";
                        l.title = title_for(_("Camera in use"), _("Microphone in use"), _("Camera and microphone in use"),
                                            s->camera_live, s->microphone_live);
                } else if (camera_on || microphone_on) {
                        l.status = "Active";
                        l.icon = camera_on ? "camera-web-symbolic" : "audio-input-microphone-symbolic";
                        l.title = title_for(_("Camera available to an app"), _("Microphone available to an app"),
                                            _("Camera and microphone available to an app"), camera_on, microphone_on);
                } else if (s->camera_muted || s->microphone_muted) {
                        /* Shown rather than hidden: the user wants to see that the switch holds. */
                        l.status = "Active";
                        l.icon = s->camera_muted ? "camera-disabled-symbolic" : "microphone-sensitivity-muted-symbolic";
                        l.title = title_for(_("Camera muted"), _("Microphone muted"), _("Camera and microphone muted"),
                                            s->camera_muted, s->microphone_muted);
                } else
                        l.title = strdup(_("Camera and microphone off"));
                l.description = describe(s);
        }
        if (!l.title || !l.description) {
                look_done(&l);
                return -ENOMEM;
        }
        *ret = l;
        return 0;
}
