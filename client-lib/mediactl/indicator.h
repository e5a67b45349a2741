/* `mediactl indicator`, the tray: the StatusNotifierItem and the command (indicator.c), what it
 * shows (indicator-look.c) and its menu of the apps that use a device (indicator-menu.c). */
#pragma once

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "mediactl.h"

/* What the tray shows; recomputed from the state on every change. */
typedef struct Look {
        const char *status;        /* Passive, Active, NeedsAttention */
        const char *icon;          /* a freedesktop icon name */
        char *title;               /* plain text */
        char *description;         /* the tooltip's body, in the protocol's markup subset */
} Look;

void look_done(Look *l);
int look_compute(const IndicatorState *s, bool daemon_present, Look *ret);

/* ---- indicator-menu.c: com.canonical.dbusmenu ---- */

#define INDICATOR_MENU_PATH "/MenuBar"

typedef struct IndicatorMenu IndicatorMenu;

/* What the menu's items do: stop an app (every origin and kind it uses, for its uid), or pause
 * (mute) every camera and microphone, or resume them. */
typedef struct IndicatorMenuActions {
        void (*stop)(const char *app_id, const char *origin, uint32_t uid, void *userdata);
        void (*pause)(bool pause, void *userdata);
        void *userdata;
} IndicatorMenuActions;

int indicator_menu_new(sd_bus *session, const IndicatorMenuActions *actions, IndicatorMenu **ret);
IndicatorMenu *indicator_menu_free(IndicatorMenu *m);
DEFINE_CLEANUP_FUNC(IndicatorMenu, indicator_menu_free);
/* Rebuild the items from the state; announces LayoutUpdated when anything changed. */
void indicator_menu_update(IndicatorMenu *m, const IndicatorState *s, bool daemon_present);
