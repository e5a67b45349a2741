/* D-Bus numbers: the numeric basic types and their values as doubles. No sd-bus in here, so that
 * the pure constraint parser shares it with the a{sv} readers. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/* Room for any numeric basic value, as sd_bus_message_read_basic() writes it. */
typedef union BusNumber {
        uint8_t y;
        int16_t n;
        uint16_t q;
        int32_t i;
        uint32_t u;
        int64_t x;
        uint64_t t;
        double d;
} BusNumber;

/* Whether type is one of the D-Bus numeric types "ynqiuxtd". */
bool bus_type_is_numeric(char type);

/* The value of a numeric type as a double (type must be numeric; a double is returned as it is,
 * NaN and infinities included). */
double bus_number_to_double(char type, const BusNumber *v);
