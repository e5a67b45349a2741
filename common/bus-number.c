/* D-Bus numbers as doubles (bus-number.h). */
#include "bus-number.h"

#include <string.h>

bool bus_type_is_numeric(char type) {
        return type && strchr("ynqiuxtd", type);
}

double bus_number_to_double(char type, const BusNumber *v) {
        switch (type) {
        case 'y': return v->y;
        case 'n': return v->n;
        case 'q': return v->q;
        case 'i': return v->i;
        case 'u': return v->u;
        case 'x': return (double) v->x;
        case 't': return (double) v->t;
        default: return v->d;
        }
}
