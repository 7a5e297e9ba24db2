/* placeholder: replaced by the real main.c */
#include "agent.h"
int main(void) { return 0; }
