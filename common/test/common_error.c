/* Tests of the one error-code table (common/error.h): every code is distinct, named and described; the
 * part-specific codes stay clear of errno values and inside their part's range; unknown codes are said so. */
#include "common/error.h"
#include "check.h"

#include <string.h>

struct code {
    const char *name;
    int value;
    const char *text;
};

static const struct code codes[] = {
#define ROW(name, value, text) {#name, value, text},
    CM_ERRNO_MAP(ROW)
#undef ROW
};

int main(void)
{
    for (size_t i = 0; i < NCASES(codes); i++) {
        const struct code *c = &codes[i];
        CHECK(c->value < 0, "%s: value %d is not negative", c->name, c->value);
        CHECK(c->name[0] == 'E' && strlen(c->name) > 1, "%s: name does not start with E", c->name);
        CHECK(c->text[0] != '\0', "%s: empty message", c->name);
        CHECK(strcmp(cm_strerror(c->value), c->text) == 0, "%s: cm_strerror gives '%s'", c->name,
              cm_strerror(c->value));
        CHECK(strcmp(cm_err_name(c->value), c->name) == 0, "%s: cm_err_name gives '%s'", c->name,
              cm_err_name(c->value));
        /* either an errno equivalent, or in a part's range below CM_ERR_PART_BASE (5 parts) */
        if (c->value > CM_ERR_PART_BASE)
            CHECK(strcmp(strerror(-c->value), "Unknown error") != 0 &&
                      strncmp(strerror(-c->value), "Unknown error ", 14) != 0,
                  "%s: %d is above CM_ERR_PART_BASE but no errno value", c->name, c->value);
        else
            CHECK(c->value < CM_ERR_PART_BASE && c->value > CM_ERR_PART_BASE - 5 * CM_ERR_PART_SPAN &&
                      (CM_ERR_PART_BASE - c->value) % CM_ERR_PART_SPAN != 0,
                  "%s: %d is outside every part's range", c->name, c->value);
        for (size_t j = 0; j < i; j++) {
            CHECK(codes[j].value != c->value, "%s and %s share the value %d", codes[j].name, c->name, c->value);
            CHECK(strcmp(codes[j].name, c->name) != 0, "%s is in the table twice", c->name);
        }
    }
    /* the part ranges begin beyond every errno value this system knows */
    for (int e = 1; e < 4096; e++)
        if (strncmp(strerror(e), "Unknown error", 13) != 0)
            CHECK(-e > CM_ERR_PART_BASE, "errno %d (%s) reaches into the part ranges", e, strerror(e));
    CHECK(strcmp(cm_strerror(0), "success") == 0, "cm_strerror(0) = '%s'", cm_strerror(0));
    CHECK(strcmp(cm_err_name(0), "OK") == 0, "cm_err_name(0) = '%s'", cm_err_name(0));
    static const int unknown[] = {-999, 1, -4000, -4500, -ENOENT * 1000};
    for (size_t i = 0; i < NCASES(unknown); i++) {
        CHECK(strcmp(cm_strerror(unknown[i]), "unknown error") == 0, "cm_strerror(%d) = '%s'", unknown[i],
              cm_strerror(unknown[i]));
        CHECK(strcmp(cm_err_name(unknown[i]), "UNKNOWN") == 0, "cm_err_name(%d) = '%s'", unknown[i],
              cm_err_name(unknown[i]));
    }
    CHECK(CM_ENOMEM == -ENOMEM && CM_EINVAL == -EINVAL && CM_EIO == -EIO, "errno equivalents are not -errno");
    return check_done("common_error");
}
