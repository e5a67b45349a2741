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

                /* The standard interfaces are served by sd-bus itself. */
                if (startswith(e->interface, "org.freedesktop.DBus."))
                        continue;
                for (size_t i = 0; i < ELEMENTSOF(served) && !found; i++) {
                        if (!streq(served[i].interface, e->interface))
                                continue;
                        for (const sd_bus_vtable *v = served[i].vtable; v->type != _SD_BUS_VTABLE_END; v++)
                                if (member_of(v) && streq(member_of(v), e->member))
                                        found = true;
                }
                if (!found)
                        fail_msg("%s.%s is in the table but not served", e->interface, e->member);
                if ((e->rule == BUS_AUTH_POLKIT) != (e->action != NULL))
                        fail_msg("%s.%s: a polkit rule needs an action and only it has one", e->interface,
                                 e->member);
        }
}

static const sd_bus_vtable *served_vtable(const char *interface) {
        for (size_t i = 0; i < ELEMENTSOF(served); i++)
                if (streq(served[i].interface, interface))
                        return served[i].vtable;
        return NULL;
}

/* The gate judges Properties.Get by the property's entry and GetAll by the interface's first
 * property entry: so the table must mark exactly the served properties, and the properties of
 * one interface must share one rule. */
static void test_properties_are_marked_and_share_a_rule(void **state) {
        for (size_t j = 0; j < bus_authorization_table_size; j++) {
                const BusAuthEntry *e = &bus_authorization_table[j], *first;
                const sd_bus_vtable *v = served_vtable(e->interface);
                bool is_property = false;

                for (; v && v->type != _SD_BUS_VTABLE_END; v++)
                        if (member_of(v) && streq(member_of(v), e->member))
                                is_property = v->type == _SD_BUS_VTABLE_PROPERTY ||
                                              v->type == _SD_BUS_VTABLE_WRITABLE_PROPERTY;
                if (served_vtable(e->interface) && is_property != e->property)
                        fail_msg("%s.%s: marked %s a property", e->interface, e->member, e->property ? "as" : "not as");
                if (!e->property)
                        continue;
                first = bus_authorization_lookup_properties(e->interface);
                assert_non_null(first);
                if (first->rule != e->rule)
                        fail_msg("%s.%s: every property of an interface needs the same rule", e->interface, e->member);
        }
}

/* No property of ours is writable: the gate lists no Properties.Set. */
static void test_no_writable_property_and_no_set(void **state) {
        for (size_t i = 0; i < ELEMENTSOF(served); i++)
                for (const sd_bus_vtable *v = served[i].vtable; v->type != _SD_BUS_VTABLE_END; v++)
                        assert_int_not_equal(v->type, _SD_BUS_VTABLE_WRITABLE_PROPERTY);
        assert_null(bus_authorization_lookup("org.freedesktop.DBus.Properties", "Set"));
        assert_non_null(bus_authorization_lookup("org.freedesktop.DBus.Properties", "Get"));
        assert_null(bus_authorization_lookup(NULL, "Ping"));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_every_served_member_is_in_the_table),
                cmocka_unit_test(test_every_table_entry_is_served),
                cmocka_unit_test(test_properties_are_marked_and_share_a_rule),
                cmocka_unit_test(test_no_writable_property_and_no_set),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
