#include <criterion/criterion.h>
Test(placeholder, address) { cr_assert(1); }
