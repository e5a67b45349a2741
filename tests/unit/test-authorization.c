/* Every member of every vtable the daemon serves is in the authorization table, and the table
 * names nothing that is not served. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "bus-authorization.h"
#include "mediagate-names.h"
#include "util.h"

static const struct {
        const char *interface;
        const sd_bus_vtable *vtable;
} served[] = {
        { MG_IFACE_MANAGER, manager_vtable },
        { MG_IFACE_ADMIN, admin_vtable },
        { MG_IFACE_REQUEST, request_vtable },
        { MG_IFACE_TRACK, track_vtable },
        { MG_IFACE_TESTING, testing_vtable },
};

static const char *member_of(const sd_bus_vtable *v) {
        switch (v->type) {
        case _SD_BUS_VTABLE_METHOD:
                return v->x.method.member;
        case _SD_BUS_VTABLE_SIGNAL:
                return v->x.signal.member;
        case _SD_BUS_VTABLE_PROPERTY:
        case _SD_BUS_VTABLE_WRITABLE_PROPERTY:
                return v->x.property.member;
        default:
                return NULL;
        }
}

static void test_every_served_member_is_in_the_table(void **state) {
        for (size_t i = 0; i < ELEMENTSOF(served); i++)
                for (const sd_bus_vtable *v = served[i].vtable; v->type != _SD_BUS_VTABLE_END; v++) {
                        const char *member = member_of(v);

                        if (!member)
                                continue;
                        if (!bus_authorization_lookup(served[i].interface, member))
                                fail_msg("%s.%s is served but not in the authorization table",
                                         served[i].interface, member);
                }
}

static void test_every_table_entry_is_served(void **state) {
        for (size_t j = 0; j < bus_authorization_table_size; j++) {
                const BusAuthEntry *e = &bus_authorization_table[j];
                bool found = false;

                for (size_t i = 0; i < ELEMENTSOF(served) && !found; i++) {
                        if (!streq(served[i].interface, e->interface))
                                continue;
                        for (const sd_bus_vtable *v = served[i].vtable; v->type != _SD_BUS_VTABLE_END; v++)
                                if (member_of(v) && streq(member_of(v), e->member))
                                        found = true;
                }
                if (!found)
                        fail_msg("%s.%s is in the table but not served", e->interface, e->member);
                if ((e->rule == BUS_AUTH_POLKIT || e->rule == BUS_AUTH_SELF_OR_POLKIT) != (e->action != NULL))
                        fail_msg("%s.%s: a polkit rule needs an action and only it has one", e->interface,
                                 e->member);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_every_served_member_is_in_the_table),
                cmocka_unit_test(test_every_table_entry_is_served),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
