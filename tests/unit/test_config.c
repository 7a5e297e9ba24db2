#include <criterion/criterion.h>
Test(placeholder, config) { cr_assert(1); }
