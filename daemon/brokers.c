/* The trusted-broker list through the policy loader: one parse of the policy directory and one
 * rule for broken files, whichever interface asks. */
#include "brokers.h"

struct Brokers {
        Policy *policy;
};

int brokers_load_dir(const char *dir, Brokers **ret) {
        _cleanup_(brokers_freep) Brokers *b = NULL;
        int r;

        if (!dir || !ret)
                return -EINVAL;
        b = calloc(1, sizeof *b);
        if (!b)
                return -ENOMEM;
        r = policy_load_dir(dir, NULL, &b->policy);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(b);
        return 0;
}

bool brokers_contains(const Brokers *b, const char *app_id) {
        return b && policy_is_broker(b->policy, app_id);
}

size_t brokers_count(const Brokers *b) {
        return strv_length(brokers_list(b));
}

char *const *brokers_list(const Brokers *b) {
        return policy_brokers(b ? b->policy : NULL);
}

Brokers *brokers_free(Brokers *b) {
        if (!b)
                return NULL;
        policy_free(b->policy);
        free(b);
        return NULL;
}
